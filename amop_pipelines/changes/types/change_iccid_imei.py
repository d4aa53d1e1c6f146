"""Change ICCID/IMEI: the seeds' walk of a SIM or device swap, to ThingSpace's rules (CARRIERS.md).

    restore (when the device is suspended: identifiers change only on an active device)
    -> delete the spare (when ThingSpace knows the new SIM: it changes only to unknown ones)
    -> change identifier (with the service plan in the same request, when one is given)
    -> read back ("activation complete")

AMOP's record of the device takes the new identifiers only once the carrier confirms the
identifier step; the walk ends by reading the device back from the carrier and failing the item
unless it is active on the expected identifiers and plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from amop_pipelines.carriers.errors import NotFoundError, PermanentCarrierError
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.change_type import ChangeType, Column, ProblemSink
from amop_pipelines.changes.records import set_carrier_plan
from amop_pipelines.changes.validation import integration_of, plan_allowed
from amop_pipelines.db.models import Device
from amop_pipelines.identifiers import iccid_problem, imei_problem

ACTIVE = "active"
SUSPENDED = "suspend"
IDENTIFIER_CHANGE_STATUSES = (ACTIVE, SUSPENDED)  # ThingSpace states a swap may start from


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
    new_iccid, new_imei = values.get("new_iccid", ""), values.get("new_imei", "")
    kind = carrier_kind(integration_of(session, device))
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
        plan_allowed(session, device, values["service_plan"], "service_plan", problem)


def _knows(client, iccid: str | None) -> bool:
    if not iccid:
        return False
    try:
        client.device(iccid)
    except NotFoundError:
        return False
    return True


@dataclass(frozen=True)
class IdentifierChange:
    def steps(self, client, iccid, parameters, provider) -> tuple[str, ...]:
        status = client.device(iccid).status  # the seeds' "retrieve current device status"
        walk = ["restore"] if status == SUSPENDED else []
        if _knows(client, parameters.get("new_iccid")):
            walk.append("delete_spare")
        walk += ["change_identifier", "read_back"]
        return tuple(walk)

    def not_before(self, parameters, provider):
        return None

    def undo(self, engine, client, device, parameters, done):
        """A restored device is suspended again (as it was before the walk); a deleted spare SIM
        cannot be brought back from here."""
        undone = []
        if "delete_spare" in done:
            undone.append(
                f"the spare SIM {parameters['new_iccid']} stays deleted at the carrier: add it back in "
                "the carrier's portal if it is still needed"
            )
        if "restore" in done:
            client.act(device.iccid, "suspend")
            with engine.begin() as connection:
                connection.execute(update(Device).where(Device.id == device.id).values(status=SUSPENDED))
            undone.append("the device was suspended again, as it was before the change")
        return undone

    def apply(self, client, iccid, parameters, key, step):
        if step == "restore":
            return client.act(iccid, "restore")
        if step == "delete_spare":
            client.delete_device(parameters["new_iccid"])
            return ChangeAccepted(iccid, None, asynchronous=False)
        if step == "change_identifier":
            return client.change_identifiers(
                iccid,
                new_iccid=parameters.get("new_iccid"),
                new_imei=parameters.get("new_imei"),
                service_plan=parameters.get("service_plan"),
                idempotency_key=key,
            )
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
        if step == "delete_spare":
            return not _knows(client, parameters["new_iccid"])
        if step == "restore":
            return client.device(iccid).status == ACTIVE
        return False  # read_back: a read, simply done again

    def effect(self, engine, device, parameters, provider, step):
        with engine.begin() as connection:
            if step == "restore":
                connection.execute(update(Device).where(Device.id == device.id).values(status=ACTIVE))
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
                if parameters.get("service_plan"):
                    set_carrier_plan(connection, device.id, provider.id, parameters["service_plan"])


TYPE = ChangeType(
    name="change_iccid_imei",
    title="Change ICCID/IMEI",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("new_iccid", "the new SIM's ICCID (a SIM the account does not use)", required=False),
        Column("new_imei", "the new device's IMEI", required=False),
        Column("service_plan", "a plan to take with the swap", required=False),
    ),
    rule=_rule,
    handler=IdentifierChange(),
    always_critical=True,
)
