"""The carrier's rate plan catalog into `carrier_rate_plan`. Carriers publish no prices
(CARRIERS.md): a plan the carrier lists and AMOP has not seen is added **unpriced** for an
operator to price (`amop rate-plans import`); a known plan's prices are never touched here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.orm import Session

from amop_pipelines.carriers.models import RatePlanInfo
from amop_pipelines.db.models import CarrierRatePlan, CommunicationPlan, CommunicationPlanRatePlan

# The communication plan AMOP gives an account whose carrier has none (ThingSpace): it allows every
# priced plan of the account, so that its devices form one comm-plan group (DESIGN.md section 3).
# Operators may define other communication plans and move devices there; the sync keeps them.
ACCOUNT_COMM_PLAN = "(all plans of the account)"


@dataclass
class CatalogReport:
    plans: int = 0
    added: list[str] = field(default_factory=list)  # new at the carrier: stored unpriced
    unpriced: list[str] = field(default_factory=list)  # every plan still waiting for a price


def sync_rate_plans(engine: Engine, provider_id: int, catalog: Iterable[RatePlanInfo]) -> CatalogReport:
    report = CatalogReport()
    with Session(engine) as session, session.begin():
        known = set(
            session.scalars(
                select(CarrierRatePlan.plan_code).where(CarrierRatePlan.service_provider_id == provider_id)
            )
        )
        for info in catalog:
            report.plans += 1
            if info.code in known:
                continue
            known.add(info.code)
            session.add(
                CarrierRatePlan(
                    service_provider_id=provider_id,
                    plan_code=info.code,
                    name=info.name,
                    monthly_charge=Decimal(0),
                    allowance_mb=info.allowance_mb or Decimal(0),
                    overage_rate=Decimal(0),
                    overage_unit_mb=Decimal(0),
                    is_pooled=False,
                    is_priced=False,
                )
            )
            report.added.append(info.code)
    with engine.begin() as connection:
        account_comm_plan(connection, provider_id, create=False)
    report.unpriced = unpriced_rate_plans(engine, provider_id)
    return report


def unpriced_rate_plans(engine: Engine, provider_id: int | None = None) -> list[str]:
    """Plans no price book has priced yet: never recommended until one does."""
    query = select(CarrierRatePlan.plan_code).where(CarrierRatePlan.is_priced.is_(False))
    if provider_id is not None:
        query = query.where(CarrierRatePlan.service_provider_id == provider_id)
    with Session(engine) as session:
        return sorted(session.scalars(query))


def invalid_rate_plans(engine: Engine, provider_id: int | None = None) -> list[str]:
    """Priced plans that cannot be optimized: overage rate or overage unit not above zero."""
    query = select(CarrierRatePlan.plan_code).where(
        CarrierRatePlan.is_priced.is_(True),
        (CarrierRatePlan.overage_rate <= 0) | (CarrierRatePlan.overage_unit_mb <= 0),
    )
    if provider_id is not None:
        query = query.where(CarrierRatePlan.service_provider_id == provider_id)
    with Session(engine) as session:
        return sorted(session.scalars(query))


def account_comm_plan(connection: Connection, provider_id: int, create: bool = True) -> int | None:
    """The account-wide communication plan (made on first use unless `create` is false), its
    rate plans brought up to date: every priced plan of the account."""
    found = connection.scalar(
        select(CommunicationPlan.id).where(
            CommunicationPlan.service_provider_id == provider_id, CommunicationPlan.name == ACCOUNT_COMM_PLAN
        )
    )
    if found is None and not create:
        return None
    if found is None:
        found = connection.execute(
            insert(CommunicationPlan)
            .values(service_provider_id=provider_id, name=ACCOUNT_COMM_PLAN)
            .returning(CommunicationPlan.id)
        ).scalar_one()
    priced = connection.scalars(
        select(CarrierRatePlan.id).where(
            CarrierRatePlan.service_provider_id == provider_id, CarrierRatePlan.is_priced.is_(True)
        )
    ).all()
    connection.execute(
        delete(CommunicationPlanRatePlan).where(CommunicationPlanRatePlan.communication_plan_id == found)
    )
    if priced:
        connection.execute(
            insert(CommunicationPlanRatePlan),
            [{"communication_plan_id": found, "carrier_rate_plan_id": plan} for plan in priced],
        )
    return found
