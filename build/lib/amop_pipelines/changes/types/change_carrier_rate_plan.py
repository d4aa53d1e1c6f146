"""Change Carrier Rate Plan: the device's plan at the carrier (what Go runs push before close)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from amop_pipelines.changes.change_type import ChangeType, Column, OneStep, ProblemSink
from amop_pipelines.changes.records import set_carrier_plan
from amop_pipelines.changes.validation import plan_allowed
from amop_pipelines.db.models import Device


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
    plan_id = plan_allowed(session, device, values["rate_plan"], "rate_plan", problem)
    if plan_id is not None and plan_id == device.carrier_rate_plan_id:
        problem("rate_plan", f"the device is already on '{values['rate_plan']}'")


class CarrierRatePlanChange(OneStep):
    def apply(self, client, iccid, parameters, key, step="change"):
        return client.change_rate_plan(iccid, parameters["rate_plan"], idempotency_key=key)

    def already_applied(self, client, iccid, parameters, step="change"):
        return client.device(iccid).rate_plan == parameters["rate_plan"]

    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            set_carrier_plan(connection, device.id, provider.id, parameters["rate_plan"])


TYPE = ChangeType(
    name="change_carrier_rate_plan",
    title="Change Carrier Rate Plan",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("rate_plan", "a plan of the device's carrier allowed for its communication plan"),
    ),
    rule=_rule,
    handler=CarrierRatePlanChange(),
)
