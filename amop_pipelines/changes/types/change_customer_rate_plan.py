"""Change Customer Rate Plan: the customer's plan, allocation and pool in AMOP, from an optional
effective date (midnight where the carrier account bills)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from amop_pipelines.changes.change_type import AmopOnly, ChangeType, Column, ProblemSink
from amop_pipelines.changes.validation import customer_plan
from amop_pipelines.db.models import CustomerRatePlan, CustomerRatePool, Device

MAX_ALLOCATION_MB = 1_000_000_000  # a petabyte: far above any SIM's allocation, well inside the column


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
    if device.customer_id is None:
        problem("iccid", "the device has no customer")
    else:
        customer_plan(session, device.customer_id, values["customer_rate_plan"], problem)
    if values.get("effective_date"):
        try:
            effective = date.fromisoformat(values["effective_date"])
        except ValueError:
            problem("effective_date", f"'{values['effective_date']}' is not an ISO date (YYYY-MM-DD)")
        else:
            if effective < date.today() - timedelta(days=1):  # a day's grace for time zones
                problem("effective_date", f"{effective} is in the past: leave it empty for now")
    if values.get("data_allocation_mb"):
        text = values["data_allocation_mb"]
        try:
            amount = Decimal(text)
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
        except InvalidOperation:
            problem("data_allocation_mb", f"'{text}' is not a number of MB, 0 or more")
        else:  # what the column holds exactly (Numeric(18, 6)): nothing rounded, nothing overflows
            if amount > MAX_ALLOCATION_MB:
                problem("data_allocation_mb", f"'{text}' is more than {MAX_ALLOCATION_MB:,} MB")
            elif amount.as_tuple().exponent < -6:
                problem("data_allocation_mb", f"'{text}' has more than 6 decimal places")


def effective_from(parameters: dict[str, Any], time_zone: str) -> datetime | None:
    """An effective date starts at midnight where the carrier account bills (its time zone)."""
    if not parameters.get("effective_date"):
        return None
    day = date.fromisoformat(parameters["effective_date"])
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone))


class ChangeCustomerRatePlan(AmopOnly):
    """A pooled plan puts the device in the customer's pool for that plan (made on first use), an
    unpooled one takes it out of any pool."""

    def not_before(self, parameters, provider):
        return effective_from(parameters, provider.time_zone)

    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            plan = connection.execute(
                select(CustomerRatePlan.id, CustomerRatePlan.plan_code, CustomerRatePlan.is_pooled).where(
                    CustomerRatePlan.customer_id == device.customer_id,
                    CustomerRatePlan.plan_code == parameters["customer_rate_plan"],
                )
            ).one()
            pool_id = _pool_for(connection, device.customer_id, plan) if plan.is_pooled else None
            values: dict[str, Any] = {"customer_rate_plan_id": plan.id, "customer_rate_pool_id": pool_id}
            if parameters.get("data_allocation_mb"):
                values["customer_data_allocation_mb"] = Decimal(parameters["data_allocation_mb"])
            connection.execute(update(Device).where(Device.id == device.id).values(**values))


def _pool_for(connection: Connection, customer_id: int, plan: Any) -> int:
    found = connection.scalar(
        select(CustomerRatePool.id)
        .where(CustomerRatePool.customer_id == customer_id, CustomerRatePool.customer_rate_plan_id == plan.id)
        .order_by(CustomerRatePool.id)
    )
    if found is not None:
        return found
    return connection.execute(
        insert(CustomerRatePool)
        .values(customer_id=customer_id, customer_rate_plan_id=plan.id, name=f"{plan.plan_code} pool")
        .returning(CustomerRatePool.id)
    ).scalar_one()


TYPE = ChangeType(
    name="change_customer_rate_plan",
    title="Change Customer Rate Plan",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("customer_rate_plan", "one of the device's customer's rate plans, by code"),
        Column("effective_date", "ISO date (YYYY-MM-DD) it takes effect; empty: now", required=False),
        Column("data_allocation_mb", "the device's data allocation in MB, 0 or more", required=False),
    ),
    rule=_rule,
    handler=ChangeCustomerRatePlan(),
)
