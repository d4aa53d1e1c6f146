"""Change Carrier Rate Plan: the device's plan at the carrier (what Go runs push before close).

A device takes one plan change at a time (none while another is unsettled), and no more in a
billing period than its carrier allows (ThingSpace: 4); `plan_change_blockers` says which devices
cannot take one now, for validation and for the Go run alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from amop_pipelines.billing import period_containing
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.change_type import ChangeType, Column, OneStep, ProblemSink
from amop_pipelines.changes.records import set_carrier_plan
from amop_pipelines.changes.states import TERMINAL
from amop_pipelines.changes.validation import plan_allowed
from amop_pipelines.db.bulk import in_chunks
from amop_pipelines.db.models import ChangeItem, ChangeRequest, Device, ServiceProvider

NAME = "change_carrier_rate_plan"


def plan_change_blockers(
    connection: Connection, provider: ServiceProvider, device_ids: Iterable[int]
) -> dict[int, str]:
    """Why each of these devices cannot take another carrier plan change now (absent: it can)."""
    ids = list(device_ids)
    if not ids:
        return {}
    blockers: dict[int, str] = {}
    unsettled = [
        row
        for chunk in in_chunks(ids)
        for row in connection.execute(
            select(ChangeItem.device_id, ChangeRequest.request_id)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .where(
                ChangeRequest.change_type == NAME,
                ChangeItem.device_id.in_(chunk),
                ChangeItem.state.not_in(TERMINAL),
            )
        )
    ]
    for device_id, request_id in unsettled:
        blockers.setdefault(device_id, f"a plan change is already under way (request {request_id})")
    limit = carrier_kind(provider.integration).plan_changes_per_month
    if limit is not None:
        period = period_containing(
            datetime.now(UTC),
            provider.billing_cycle_end_day,
            provider.billing_cycle_end_hour,
            provider.time_zone,
        )
        done = [
            row
            for chunk in in_chunks(ids)
            for row in connection.execute(
                select(ChangeItem.device_id, func.count())
                .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
                .where(
                    ChangeRequest.change_type == NAME,
                    ChangeItem.device_id.in_(chunk),
                    ChangeItem.state == "completed",
                    ChangeItem.completed_at >= period.starts_at,
                )
                .group_by(ChangeItem.device_id)
            )
        ]
        for device_id, count in done:
            if count >= limit:
                blockers.setdefault(
                    device_id,
                    f"{count} plan changes in this billing period already, the carrier's limit is {limit}",
                )
    return blockers


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
    plan_id = plan_allowed(session, device, values["rate_plan"], "rate_plan", problem)
    if plan_id is not None and plan_id == device.carrier_rate_plan_id:
        problem("rate_plan", f"the device is already on '{values['rate_plan']}'")
    provider = session.get(ServiceProvider, device.service_provider_id)
    why = plan_change_blockers(session.connection(), provider, [device.id]).get(device.id)
    if why is not None:
        problem("iccid", why)


class CarrierRatePlanChange(OneStep):
    def apply(self, client, iccid, parameters, key, step="change"):
        return client.change_rate_plan(iccid, parameters["rate_plan"], idempotency_key=key)

    def already_applied(self, client, iccid, parameters, step="change"):
        return client.device(iccid).rate_plan == parameters["rate_plan"]

    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            set_carrier_plan(connection, device.id, provider.id, parameters["rate_plan"])


TYPE = ChangeType(
    name=NAME,
    title="Change Carrier Rate Plan",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("rate_plan", "a plan of the device's carrier allowed for its communication plan"),
    ),
    rule=_rule,
    handler=CarrierRatePlanChange(),
)
