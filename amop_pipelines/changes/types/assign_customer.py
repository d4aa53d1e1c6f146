"""Assign Customer: the customer on the carrier (where it keeps customers), then site, customer
rate plan and a billing service in AMOP; the previous customer's active service, if any, ends."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.change_type import ChangeType, Column, OneStep, ProblemSink
from amop_pipelines.changes.validation import customer_plan
from amop_pipelines.db.models import BillingService, Customer, CustomerRatePlan, Device, Site


def _rule(session: Session, device: Device, values: dict[str, str], problem: ProblemSink) -> None:
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
        customer_plan(session, customer.id, values["customer_rate_plan"], problem)


class AssignCustomer(OneStep):
    def apply(self, client, iccid, parameters, key, step="change"):
        if carrier_kind(client.integration).keeps_customers:
            return client.change_customer(iccid, parameters["customer_id"], idempotency_key=key)
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters, step="change"):
        return (
            carrier_kind(client.integration).keeps_customers
            and client.device(iccid).customer == parameters["customer_id"]
        )

    def effect(self, engine, device, parameters, provider, step="change"):
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
            # a device has at most one active billing service: the previous customer's ends today
            connection.execute(
                update(BillingService)
                .where(
                    BillingService.device_id == device.id,
                    BillingService.customer_id != customer_id,
                    BillingService.status == "active",
                )
                .values(status="ended", end_date=date.today())
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


TYPE = ChangeType(
    name="assign_customer",
    title="Assign Customer",
    columns=(
        Column("iccid", "the device's ICCID"),
        Column("customer_id", "the customer's external id"),
        Column("site_id", "one of the customer's sites, by name", required=False),
        Column("customer_rate_plan", "one of the customer's rate plans, by code", required=False),
    ),
    rule=_rule,
    handler=AssignCustomer(),
)
