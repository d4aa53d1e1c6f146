"""Archive Device: the device leaves AMOP's live fleet (nothing is sent to the carrier).

Only holders of the archive permission may file it; a device with an active billing service or
recent usage cannot be archived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from amop_pipelines import settings
from amop_pipelines.changes.change_type import AmopOnly, ChangeType, Column, ProblemSink
from amop_pipelines.changes.people import same_person
from amop_pipelines.db.models import BillingPeriod, BillingService, Device, DeviceUsage

ARCHIVE_USAGE_DAYS = 30


def _requester_problem(requested_by: str) -> str | None:
    if not any(same_person(requested_by, archiver) for archiver in settings.get("AMOP_ARCHIVERS")):
        return f"'{requested_by}' does not hold the archive permission"
    return None


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
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


class ArchiveDevice(AmopOnly):
    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            connection.execute(update(Device).where(Device.id == device.id).values(is_archived=True))


TYPE = ChangeType(
    name="archive_device",
    title="Archive Device",
    columns=(Column("iccid", "the device's ICCID"),),
    rule=_rule,
    handler=ArchiveDevice(),
    always_critical=True,
    requester_problem=_requester_problem,
)
