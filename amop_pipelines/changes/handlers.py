"""What each change type sends to the carrier, how to tell it is already there, and its effect on
the AMOP database. The carriers' status vocabularies live here too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import PermanentCarrierError
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.db.models import CarrierRatePlan, Device

# AMOP statuses as each carrier says them (ThingSpace: the action that reaches the state)
JASPER_STATUS = {"Active": "ACTIVATED", "Inactive": "DEACTIVATED", "Pending": "ACTIVATION_READY"}
THINGSPACE_STATE = {"Active": "active", "Inactive": "deactive", "Suspended": "suspend"}


class Handler(Protocol):
    def apply(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], key: str
    ) -> ChangeAccepted: ...

    def already_applied(self, client: CarrierClient, iccid: str, parameters: dict[str, Any]) -> bool: ...

    def effect(self, engine: Engine, device: Any, parameters: dict[str, Any], provider: Any) -> None: ...


@dataclass(frozen=True)
class CarrierRatePlanChange:
    def apply(self, client, iccid, parameters, key):
        return client.change_rate_plan(iccid, parameters["rate_plan"], idempotency_key=key)

    def already_applied(self, client, iccid, parameters):
        return client.device(iccid).rate_plan == parameters["rate_plan"]

    def effect(self, engine, device, parameters, provider):
        with engine.begin() as connection:
            plan_id = connection.scalar(
                select(CarrierRatePlan.id).where(
                    CarrierRatePlan.service_provider_id == provider.id,
                    CarrierRatePlan.plan_code == parameters["rate_plan"],
                )
            )
            connection.execute(
                update(Device).where(Device.id == device.id).values(carrier_rate_plan_id=plan_id)
            )


@dataclass(frozen=True)
class DeviceStatusChange:
    def _target(self, client, status: str) -> str:
        table = JASPER_STATUS if isinstance(client, JasperClient) else THINGSPACE_STATE
        if status not in table:
            raise PermanentCarrierError(f"the carrier has no '{status}' status")
        return table[status]

    def apply(self, client, iccid, parameters, key):
        target = self._target(client, parameters["status"])
        if isinstance(client, JasperClient):
            return client.change_status(iccid, target, idempotency_key=key)
        current = client.device(iccid).status
        action = {
            "active": "restore" if current == "suspend" else "activate",
            "suspend": "suspend",
            "deactive": "deactivate",
        }[target]
        return client.change_status(iccid, action, idempotency_key=key)

    def already_applied(self, client, iccid, parameters):
        return client.device(iccid).status == self._target(client, parameters["status"])

    def effect(self, engine, device, parameters, provider_id):
        with engine.begin() as connection:
            connection.execute(
                update(Device).where(Device.id == device.id).values(status=parameters["status"])
            )


HANDLERS: dict[str, Handler] = {
    "change_carrier_rate_plan": CarrierRatePlanChange(),
    "update_device_status": DeviceStatusChange(),
}
