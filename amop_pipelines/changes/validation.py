"""Pre-flight validation of every item of a change, before anything is stored or sent.

What every type shares is here: a well-formed ICCID, once per file, naming a live device; then the
type's own rule (its module under `changes/types/`) checks format, existence, compatibility and its
business rules with the helpers below. Problems name the file's line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines.changes.change_type import ChangeType, ProblemSink
from amop_pipelines.changes.csvfile import Problem, Row
from amop_pipelines.db.bulk import in_chunks
from amop_pipelines.db.models import (
    CarrierRatePlan,
    CommunicationPlanRatePlan,
    CustomerRatePlan,
    Device,
    ServiceProvider,
)
from amop_pipelines.identifiers import iccid_problem


@dataclass(frozen=True)
class ValidItem:
    line: int
    iccid: str
    device_id: int
    parameters: dict[str, str]


def validate(
    engine: Engine, change_type: ChangeType, rows: list[Row], source: str, requested_by: str
) -> tuple[list[ValidItem], list[Problem]]:
    problems: list[Problem] = []

    def problem(line: int, field: str, message: str) -> None:
        problems.append(Problem(source, line, field, message))

    if change_type.requester_problem is not None and (why := change_type.requester_problem(requested_by)):
        problem(0, "requested_by", why)
    seen: dict[str, int] = {}
    valid: list[ValidItem] = []
    with Session(engine) as session:
        # in chunks: each chunk's devices are loaded once and let go before the next (a file at the
        # row limit would otherwise hold every device's ORM object at once)
        for chunk in in_chunks(rows):
            wanted = [row.values["iccid"] for row in chunk]
            devices = {d.iccid: d for d in session.scalars(select(Device).where(Device.iccid.in_(wanted)))}
            for row in chunk:
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
                change_type.rule(session, device, values, lambda f, m, line=row.line: problem(line, f, m))
                if len(problems) == before:
                    parameters = {k: v for k, v in values.items() if k != "iccid" and v != ""}
                    valid.append(ValidItem(row.line, iccid, device.id, parameters))
            devices.clear()
            session.expunge_all()
    return valid, problems


def customer_plan(session: Session, customer_id: int | None, code: str, problem: ProblemSink) -> None:
    """A customer rate plan of this customer."""
    found = session.scalar(
        select(CustomerRatePlan.id).where(
            CustomerRatePlan.customer_id == customer_id, CustomerRatePlan.plan_code == code
        )
    )
    if found is None:
        problem("customer_rate_plan", f"unknown customer rate plan '{code}' for this device's customer")


def plan_allowed(session: Session, device: Device, code: str, field: str, problem: ProblemSink) -> int | None:
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


def integration_of(session: Session, device: Device) -> str:
    """The device's carrier integration, read once per validation."""
    cache = session.info.setdefault("integrations", {})
    if device.service_provider_id not in cache:
        cache[device.service_provider_id] = session.scalar(
            select(ServiceProvider.integration).where(ServiceProvider.id == device.service_provider_id)
        )
    return cache[device.service_provider_id]
