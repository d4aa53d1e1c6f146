"""What each change type sends to the carrier, how to tell it is already there, and its effect on
the AMOP database.

A change is a walk of steps. Most types take one step ("change"); Change ICCID/IMEI walks several
(see `identifier_change`). The executor calls a handler step by step and commits between calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import PermanentCarrierError
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.identifier_change import IdentifierChange
from amop_pipelines.changes.records import set_carrier_plan
from amop_pipelines.db.models import (
    BillingService,
    Customer,
    CustomerRatePlan,
    CustomerRatePool,
    Device,
    Site,
)

ONE_STEP = ("change",)


class Handler(Protocol):
    def steps(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], provider: Any
    ) -> tuple[str, ...]:
        """The walk this item takes, planned once at its first attempt."""

    def not_before(self, parameters: dict[str, Any], provider: Any) -> datetime | None:
        """When the item may run (an effective date), or None for now."""

    def apply(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], key: str, step: str
    ) -> ChangeAccepted: ...

    def already_applied(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], step: str
    ) -> bool: ...

    def effect(
        self, engine: Engine, device: Any, parameters: dict[str, Any], provider: Any, step: str
    ) -> None:
        """What the step changes in the AMOP database once the carrier confirmed it."""


class OneStep:
    def steps(self, client, iccid, parameters, provider) -> tuple[str, ...]:
        return ONE_STEP

    def not_before(self, parameters, provider) -> datetime | None:
        return None


@dataclass(frozen=True)
class CarrierRatePlanChange(OneStep):
    def apply(self, client, iccid, parameters, key, step="change"):
        return client.change_rate_plan(iccid, parameters["rate_plan"], idempotency_key=key)

    def already_applied(self, client, iccid, parameters, step="change"):
        return client.device(iccid).rate_plan == parameters["rate_plan"]

    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            set_carrier_plan(connection, device.id, provider.id, parameters["rate_plan"])


@dataclass(frozen=True)
class DeviceStatusChange(OneStep):
    """AMOP's status, in the carrier's words and by its steps (the adapter knows both)."""

    def _target(self, client, status: str) -> str:
        target = carrier_kind(client.integration).statuses.get(status)
        if target is None:
            raise PermanentCarrierError(f"the carrier ({client.integration}) has no '{status}' status")
        return target

    def apply(self, client, iccid, parameters, key, step="change"):
        return client.set_status(iccid, parameters["status"], idempotency_key=key)

    def already_applied(self, client, iccid, parameters, step="change"):
        current, status = client.device(iccid).status, parameters["status"]
        waiting = carrier_kind(client.integration).waiting_states.get(current)  # on its way there
        return current == self._target(client, status) or waiting == status

    def effect(self, engine, device, parameters, provider, step="change"):
        status = carrier_kind(provider.integration).statuses[parameters["status"]]  # as the next sync says it
        with engine.begin() as connection:
            connection.execute(update(Device).where(Device.id == device.id).values(status=status))


class _AmopOnly(OneStep):
    """Changes of AMOP's own records: nothing to send, so nothing the carrier could repeat."""

    def apply(self, client, iccid, parameters, key, step="change"):
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters, step="change"):
        return False


@dataclass(frozen=True)
class ArchiveDevice(_AmopOnly):
    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            connection.execute(update(Device).where(Device.id == device.id).values(is_archived=True))


@dataclass(frozen=True)
class AssignCustomer(OneStep):
    """The customer on the carrier (where it keeps customers), then site, customer plan and a billing
    service here."""

    def apply(self, client, iccid, parameters, key, step="change"):
        if carrier_kind(client.integration).keeps_customers:
            return client.change_customer(iccid, parameters["customer_id"], idempotency_key=key)
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters, step="change"):
        return (
            carrier_kind(client.integration).keeps_customers
            and client.device(iccid).customer == parameters["customer_id"]
        )

    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            customer_id = connection.scalar(
                select(Customer.id).where(Customer.external_id == parameters["customer_id"])
            )
            site_id = connection.scalar(
                select(Site.id).where(
                    Site.customer_id == customer_id, Site.name == parameters.get("site_id", "")
                )
            )
            plan_id = connection.scalar(
                select(CustomerRatePlan.id).where(
                    CustomerRatePlan.customer_id == customer_id,
                    CustomerRatePlan.plan_code == parameters.get("customer_rate_plan", ""),
                )
            )
            connection.execute(
                update(Device)
                .where(Device.id == device.id)
                .values(customer_id=customer_id, site_id=site_id, customer_rate_plan_id=plan_id)
            )
            active = connection.scalar(
                select(BillingService.id).where(
                    BillingService.device_id == device.id,
                    BillingService.customer_id == customer_id,
                    BillingService.status == "active",
                )
            )
            if active is None:  # a repeated effect after a crash creates no second service
                connection.execute(
                    insert(BillingService).values(
                        device_id=device.id,
                        customer_id=customer_id,
                        site_id=site_id,
                        customer_rate_plan_id=plan_id,
                        status="active",
                        start_date=date.today(),
                    )
                )


def effective_from(parameters: dict[str, Any], time_zone: str) -> datetime | None:
    """An effective date starts at midnight where the carrier account bills (its time zone)."""
    if not parameters.get("effective_date"):
        return None
    day = date.fromisoformat(parameters["effective_date"])
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone))


@dataclass(frozen=True)
class ChangeCustomerRatePlan(_AmopOnly):
    """The customer's plan, allocation and pool: a pooled plan puts the device in the customer's pool
    for that plan (made on first use), an unpooled one takes it out of any pool."""

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


HANDLERS: dict[str, Handler] = {
    "archive_device": ArchiveDevice(),
    "assign_customer": AssignCustomer(),
    "change_carrier_rate_plan": CarrierRatePlanChange(),
    "change_customer_rate_plan": ChangeCustomerRatePlan(),
    "change_iccid_imei": IdentifierChange(),
    "update_device_status": DeviceStatusChange(),
}
