"""The carrier's rate plan catalog into `carrier_rate_plan`: new plans added, prices refreshed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines.carriers.models import RatePlanInfo
from amop_pipelines.db.models import CarrierRatePlan

PRICE_FIELDS = {
    "monthly_charge": "monthly_charge",
    "allowance_mb": "included_mb",
    "overage_rate": "overage_rate",
    "overage_unit_mb": "overage_unit_mb",
    "is_pooled": "pooled",
}


@dataclass
class CatalogReport:
    plans: int
    added: list[str]
    changed: list[str]


def sync_rate_plans(engine: Engine, provider_id: int, catalog: Iterable[RatePlanInfo]) -> CatalogReport:
    report = CatalogReport(0, [], [])
    with Session(engine) as session, session.begin():
        existing = {
            p.plan_code: p
            for p in session.scalars(
                select(CarrierRatePlan).where(CarrierRatePlan.service_provider_id == provider_id)
            )
        }
        for info in catalog:
            report.plans += 1
            plan = existing.get(info.name)
            if plan is None:
                session.add(
                    CarrierRatePlan(
                        service_provider_id=provider_id,
                        plan_code=info.name,
                        name=info.name,
                        monthly_charge=info.monthly_charge or Decimal(0),
                        allowance_mb=info.included_mb or Decimal(0),
                        overage_rate=info.overage_rate or Decimal(0),
                        overage_unit_mb=info.overage_unit_mb or Decimal(0),
                        is_pooled=bool(info.pooled),
                    )
                )
                report.added.append(info.name)
                continue
            changed = False
            for column, attribute in PRICE_FIELDS.items():
                value = getattr(info, attribute)
                if value is not None and getattr(plan, column) != value:
                    setattr(plan, column, value)
                    changed = True
            if changed:
                report.changed.append(info.name)
    return report


def invalid_rate_plans(engine: Engine, provider_id: int | None = None) -> list[str]:
    """Plans that cannot be optimized: overage rate or overage unit not above zero."""
    query = select(CarrierRatePlan.plan_code).where(
        (CarrierRatePlan.overage_rate <= 0) | (CarrierRatePlan.overage_unit_mb <= 0)
    )
    if provider_id is not None:
        query = query.where(CarrierRatePlan.service_provider_id == provider_id)
    with Session(engine) as session:
        return sorted(session.scalars(query))
