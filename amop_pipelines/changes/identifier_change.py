"""Change ICCID/IMEI: the seeds' walk of a SIM or device swap on the carrier.

    suspend (when the carrier changes identifiers only on a suspended device)
    -> change identifier -> reactivate (when the device is not active)
    -> assign the service plan (when one is given) -> read back ("activation complete")

ThingSpace refuses plan changes while a device is suspended, so the plan is assigned after the
reactivation. AMOP's record of the device takes the new identifiers only once the carrier confirms
the identifier step; the walk ends by reading the device back from the carrier and failing the
item unless it is active on the expected identifiers and plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update

from amop_pipelines.carriers.errors import NotFoundError, PermanentCarrierError
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.changes.records import set_carrier_plan
from amop_pipelines.db.models import Device

ACTIVE = "active"
SUSPENDED = "suspend"


@dataclass(frozen=True)
class IdentifierChange:
    def steps(self, client, iccid, parameters, provider) -> tuple[str, ...]:
        status = client.device(iccid).status  # the seeds' "retrieve current device status"
        suspend_first = bool(provider.suspend_for_identifier_change) and status == ACTIVE
        walk = ["suspend"] if suspend_first else []
        walk.append("change_identifier")
        if suspend_first or status != ACTIVE:
            walk.append("reactivate")
        if parameters.get("service_plan"):
            walk.append("assign_plan")
        walk.append("read_back")
        return tuple(walk)

    def not_before(self, parameters, provider):
        return None

    def apply(self, client, iccid, parameters, key, step):
        if step == "suspend":
            return client.change_status(iccid, "suspend", idempotency_key=key)
        if step == "change_identifier":
            return client.change_identifiers(
                iccid,
                new_iccid=parameters.get("new_iccid"),
                new_imei=parameters.get("new_imei"),
                idempotency_key=key,
            )
        if step == "reactivate":
            current = client.device(iccid).status
            action = "restore" if current == SUSPENDED else "activate"
            return client.change_status(iccid, action, idempotency_key=key)
        if step == "assign_plan":
            return client.change_rate_plan(iccid, parameters["service_plan"], idempotency_key=key)
        if step == "read_back":
            problems = self._read_back_problems(client, iccid, parameters)
            if problems:
                raise PermanentCarrierError("read-back: " + "; ".join(problems))
            return ChangeAccepted(iccid, None, asynchronous=False)
        raise ValueError(f"unknown step '{step}' of an identifier change")

    def _read_back_problems(self, client, iccid: str, parameters: dict[str, Any]) -> list[str]:
        device = client.device(iccid)
        problems = []
        if parameters.get("new_iccid") and device.iccid != parameters["new_iccid"]:
            problems.append(f"ICCID is {device.iccid}, not {parameters['new_iccid']}")
        if device.status != ACTIVE:
            problems.append(f"the device is {device.status}, not active")
        if parameters.get("new_imei") and device.imei != parameters["new_imei"]:
            problems.append(f"IMEI is {device.imei}, not {parameters['new_imei']}")
        if parameters.get("service_plan") and device.rate_plan != parameters["service_plan"]:
            problems.append(f"plan is {device.rate_plan}, not {parameters['service_plan']}")
        return problems

    def already_applied(self, client, iccid, parameters, step):
        if step == "change_identifier":
            try:
                device = client.device(parameters.get("new_iccid") or iccid)
            except NotFoundError:
                return False
            return not parameters.get("new_imei") or device.imei == parameters["new_imei"]
        if step == "read_back":
            return False  # a read: simply done again
        device = client.device(iccid)
        if step == "suspend":
            return device.status == SUSPENDED
        if step == "reactivate":
            return device.status == ACTIVE
        return device.rate_plan == parameters["service_plan"]  # assign_plan

    def effect(self, engine, device, parameters, provider, step):
        with engine.begin() as connection:
            if step in ("suspend", "reactivate"):
                status = SUSPENDED if step == "suspend" else ACTIVE
                connection.execute(update(Device).where(Device.id == device.id).values(status=status))
            elif step == "change_identifier":
                values: dict[str, Any] = {}
                if parameters.get("new_iccid"):
                    values["iccid"] = parameters["new_iccid"]
                    # the new SIM was a spare this account knew: it is this device now
                    connection.execute(
                        delete(Device).where(Device.iccid == parameters["new_iccid"], Device.id != device.id)
                    )
                if parameters.get("new_imei"):
                    values["imei"] = parameters["new_imei"]
                connection.execute(update(Device).where(Device.id == device.id).values(**values))
            elif step == "assign_plan":
                set_carrier_plan(connection, device.id, provider.id, parameters["service_plan"])
