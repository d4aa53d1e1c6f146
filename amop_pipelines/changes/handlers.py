"""What each change type sends to the carrier, how to tell it is already there, and its effect on
the AMOP database. The carriers' status vocabularies live here too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import PermanentCarrierError
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.db.models import BillingService, CarrierRatePlan, Customer, CustomerRatePlan, Device, Site

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


class _AmopOnly:
    """Changes of AMOP's own records: nothing to send, so nothing the carrier could repeat."""

    def apply(self, client, iccid, parameters, key):
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters):
        return False


@dataclass(frozen=True)
class ArchiveDevice(_AmopOnly):
    def effect(self, engine, device, parameters, provider):
        with engine.begin() as connection:
            connection.execute(update(Device).where(Device.id == device.id).values(is_archived=True))


@dataclass(frozen=True)
class AssignCustomer:
    """The customer on the carrier (Jasper), then site, customer plan and a billing service here."""

    def apply(self, client, iccid, parameters, key):
        if isinstance(client, JasperClient):
            return client.change_customer(iccid, parameters["customer_id"], idempotency_key=key)
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters):
        return isinstance(client, JasperClient) and client.device(iccid).customer == parameters["customer_id"]

    def effect(self, engine, device, parameters, provider):
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


@dataclass(frozen=True)
class ChangeCustomerRatePlan(_AmopOnly):
    def effect(self, engine, device, parameters, provider):
        with engine.begin() as connection:
            plan_id = connection.scalar(
                select(CustomerRatePlan.id).where(
                    CustomerRatePlan.customer_id == device.customer_id,
                    CustomerRatePlan.plan_code == parameters["customer_rate_plan"],
                )
            )
            connection.execute(
                update(Device).where(Device.id == device.id).values(customer_rate_plan_id=plan_id)
            )


HANDLERS: dict[str, Handler] = {
    "archive_device": ArchiveDevice(),
    "assign_customer": AssignCustomer(),
    "change_carrier_rate_plan": CarrierRatePlanChange(),
    "change_customer_rate_plan": ChangeCustomerRatePlan(),
    "update_device_status": DeviceStatusChange(),
}
