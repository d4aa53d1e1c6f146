"""Update Device Status: AMOP's status, in the carrier's words and by its steps (the carrier
adapter knows both). A deactivation needs approval."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from amop_pipelines.carriers.errors import PermanentCarrierError
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.change_type import ChangeType, Column, OneStep, ProblemSink
from amop_pipelines.changes.validation import integration_of
from amop_pipelines.db.models import Device

DEVICE_STATUSES = ("Active", "Inactive", "Suspended", "Pending")


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
    if values["status"] not in DEVICE_STATUSES:
        problem("status", f"'{values['status']}' must be one of {', '.join(DEVICE_STATUSES)}")
    elif (
        why := carrier_kind(integration_of(session, device)).transition_problem(
            device.status, values["status"]
        )
    ) is not None:
        problem("status", why)


class DeviceStatusChange(OneStep):
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


TYPE = ChangeType(
    name="update_device_status",
    title="Update Device Status",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("status", f"one of {', '.join(DEVICE_STATUSES)}"),
        Column("reason_code", "the carrier's reason code, where it asks for one", required=False),
    ),
    rule=_rule,
    handler=DeviceStatusChange(),
    critical_item=lambda parameters: parameters.get("status") == "Inactive",
)
