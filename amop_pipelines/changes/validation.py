"""Pre-flight validation of every item of a change, before anything is stored or sent.

Format (ICCID, IMEI, dates, numbers, statuses), existence (devices, customers, sites, plans),
compatibility (a plan allowed for the device's communication plan; a new SIM not in use) and each
type's business rules. Problems name the file's line and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.csvfile import Problem, Row
from amop_pipelines.changes.types import DEVICE_STATUSES, ChangeType
from amop_pipelines.db.models import (
    BillingPeriod,
    BillingService,
    CarrierRatePlan,
    CommunicationPlanRatePlan,
    Customer,
    CustomerRatePlan,
    Device,
    DeviceUsage,
    ServiceProvider,
    Site,
)
from amop_pipelines.identifiers import iccid_problem, imei_problem

ARCHIVE_USAGE_DAYS = 30
IDENTIFIER_CHANGE_STATUSES = ("active", "suspend")  # ThingSpace states a swap may start from
ARCHIVERS_ENV = "AMOP_ARCHIVERS"  # who may archive devices (comma-separated), default "admin"


@dataclass(frozen=True)
class ValidItem:
    line: int
    iccid: str
    device_id: int
    parameters: dict[str, str]


def archivers() -> set[str]:
    return {n.strip() for n in os.environ.get(ARCHIVERS_ENV, "admin").split(",") if n.strip()}


def validate(
    engine: Engine, change_type: ChangeType, rows: list[Row], source: str, requested_by: str
) -> tuple[list[ValidItem], list[Problem]]:
    problems: list[Problem] = []

    def problem(line: int, field: str, message: str) -> None:
        problems.append(Problem(source, line, field, message))

    if change_type.name == "archive_device" and requested_by not in archivers():
        problem(0, "requested_by", f"'{requested_by}' does not hold the archive permission")
    seen: dict[str, int] = {}
    valid: list[ValidItem] = []
    with Session(engine) as session:
        iccids = [row.values["iccid"] for row in rows]
        devices = {d.iccid: d for d in session.scalars(select(Device).where(Device.iccid.in_(iccids)))}
        for row in rows:
            values = row.values
            iccid = values["iccid"]
            if (why := iccid_problem(iccid)) is not None:
                problem(row.line, "iccid", why)
                continue
            if iccid in seen:
                problem(row.line, "iccid", f"'{iccid}' appears twice (first on line {seen[iccid]})")
                continue
            seen[iccid] = row.line
            device = devices.get(iccid)
            if device is None or device.is_archived:
                problem(
                    row.line,
                    "iccid",
                    f"unknown device '{iccid}'" if device is None else f"'{iccid}' is archived",
                )
                continue
            before = len(problems)
            _RULES[change_type.name](session, device, values, lambda f, m, line=row.line: problem(line, f, m))
            if len(problems) == before:
                parameters = {k: v for k, v in values.items() if k != "iccid" and v != ""}
                valid.append(ValidItem(row.line, iccid, device.id, parameters))
    return valid, problems


def _archive(session: Session, device: Device, values: dict[str, str], problem) -> None:
    active = session.scalar(
        select(BillingService.id).where(
            BillingService.device_id == device.id, BillingService.status == "active"
        )
    )
    if active is not None:
        problem("iccid", "has an active billing service: end it before archiving")
    since = datetime.now(UTC) - timedelta(days=ARCHIVE_USAGE_DAYS)
    used = session.scalar(
        select(DeviceUsage.id)
        .join(BillingPeriod, BillingPeriod.id == DeviceUsage.billing_period_id)
        .where(DeviceUsage.device_id == device.id, DeviceUsage.data_mb > 0, BillingPeriod.ends_at >= since)
    )
    if used is not None:
        problem("iccid", f"has usage in the last {ARCHIVE_USAGE_DAYS} days")


def _assign_customer(session: Session, device: Device, values: dict[str, str], problem) -> None:
    customer = session.scalars(
        select(Customer).where(Customer.external_id == values["customer_id"])
    ).one_or_none()
    if customer is None:
        problem("customer_id", f"unknown customer '{values['customer_id']}'")
        return
    if values.get("site_id"):
        site = session.scalar(
            select(Site.id).where(Site.customer_id == customer.id, Site.name == values["site_id"])
        )
        if site is None:
            problem("site_id", f"customer '{customer.external_id}' has no site '{values['site_id']}'")
    if values.get("customer_rate_plan"):
        _customer_plan(session, customer.id, values["customer_rate_plan"], problem)


def _customer_plan(session: Session, customer_id: int | None, code: str, problem) -> None:
    found = session.scalar(
        select(CustomerRatePlan.id).where(
            CustomerRatePlan.customer_id == customer_id, CustomerRatePlan.plan_code == code
        )
    )
    if found is None:
        problem("customer_rate_plan", f"unknown customer rate plan '{code}' for this device's customer")


def _carrier_plan(session: Session, device: Device, values: dict[str, str], problem) -> None:
    plan_id = _plan_allowed(session, device, values["rate_plan"], "rate_plan", problem)
    if plan_id is not None and plan_id == device.carrier_rate_plan_id:
        problem("rate_plan", f"the device is already on '{values['rate_plan']}'")


def _plan_allowed(session: Session, device: Device, code: str, field: str, problem) -> int | None:
    """A carrier plan the device may take: at its carrier, and allowed for its communication plan."""
    plan = session.scalars(
        select(CarrierRatePlan).where(
            CarrierRatePlan.service_provider_id == device.service_provider_id,
            CarrierRatePlan.plan_code == code,
        )
    ).one_or_none()
    if plan is None:
        problem(field, f"unknown rate plan '{code}' at the device's carrier")
        return None
    allowed = session.scalar(
        select(CommunicationPlanRatePlan.carrier_rate_plan_id).where(
            CommunicationPlanRatePlan.communication_plan_id == device.communication_plan_id,
            CommunicationPlanRatePlan.carrier_rate_plan_id == plan.id,
        )
    )
    if allowed is None or plan.optimization_group_id != device.optimization_group_id:
        problem(field, f"rate plan '{code}' is not allowed for the device's communication plan")
    return plan.id


def _customer_rate_plan(session: Session, device: Device, values: dict[str, str], problem) -> None:
    if device.customer_id is None:
        problem("iccid", "the device has no customer")
    else:
        _customer_plan(session, device.customer_id, values["customer_rate_plan"], problem)
    if values.get("effective_date"):
        try:
            effective = date.fromisoformat(values["effective_date"])
        except ValueError:
            problem("effective_date", f"'{values['effective_date']}' is not an ISO date (YYYY-MM-DD)")
        else:
            if effective < date.today() - timedelta(days=1):  # a day's grace for time zones
                problem("effective_date", f"{effective} is in the past: leave it empty for now")
    if values.get("data_allocation_mb"):
        try:
            amount = Decimal(values["data_allocation_mb"])
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
        except InvalidOperation:
            problem(
                "data_allocation_mb", f"'{values['data_allocation_mb']}' is not a number of MB, 0 or more"
            )


def _integration(session: Session, device: Device) -> str:
    cache = session.info.setdefault("integrations", {})
    if device.service_provider_id not in cache:
        cache[device.service_provider_id] = session.scalar(
            select(ServiceProvider.integration).where(ServiceProvider.id == device.service_provider_id)
        )
    return cache[device.service_provider_id]


def _identifiers(session: Session, device: Device, values: dict[str, str], problem) -> None:
    new_iccid, new_imei = values.get("new_iccid", ""), values.get("new_imei", "")
    kind = carrier_kind(_integration(session, device))
    if not kind.changes_identifiers:
        problem("iccid", "the device's carrier has no identifier change API: swap it in the carrier's portal")
    elif device.status not in IDENTIFIER_CHANGE_STATUSES:
        problem(
            "iccid", f"the device is {device.status}: identifiers change only on an active or suspended one"
        )
    if not new_iccid and not new_imei:
        problem("new_iccid", "new_iccid or new_imei is needed")
    if new_iccid:
        if (why := iccid_problem(new_iccid)) is not None:
            problem("new_iccid", why)
        elif new_iccid == device.iccid:
            problem("new_iccid", f"'{new_iccid}' is the device's ICCID already")
        else:
            holder = session.scalars(select(Device).where(Device.iccid == new_iccid)).one_or_none()
            if holder is not None and (
                holder.is_archived or holder.customer_id is not None or holder.status not in kind.spare_states
            ):
                problem("new_iccid", f"the new SIM '{new_iccid}' is in use by another device")
    if new_imei:
        if (why := imei_problem(new_imei)) is not None:
            problem("new_imei", why)
        elif new_imei == device.imei:
            problem("new_imei", f"'{new_imei}' is the device's IMEI already")
    if values.get("service_plan"):
        _plan_allowed(session, device, values["service_plan"], "service_plan", problem)


def _status(session: Session, device: Device, values: dict[str, str], problem) -> None:
    if values["status"] not in DEVICE_STATUSES:
        problem("status", f"'{values['status']}' must be one of {', '.join(DEVICE_STATUSES)}")
    elif (
        why := carrier_kind(_integration(session, device)).transition_problem(device.status, values["status"])
    ) is not None:
        problem("status", why)


_RULES = {
    "archive_device": _archive,
    "assign_customer": _assign_customer,
    "change_carrier_rate_plan": _carrier_plan,
    "change_customer_rate_plan": _customer_rate_plan,
    "change_iccid_imei": _identifiers,
    "update_device_status": _status,
}
