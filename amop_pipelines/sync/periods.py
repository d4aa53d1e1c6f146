"""Billing period rows: one per provider and billing month, made on first use."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from amop_pipelines.billing import Period, period_for_month
from amop_pipelines.db.models import BillingPeriod, ServiceProvider


def ensure_billing_period(session: Session, provider: ServiceProvider, period: Period) -> BillingPeriod:
    found = session.scalars(
        select(BillingPeriod).filter_by(service_provider_id=provider.id, billing_month=period.billing_month)
    ).one_or_none()
    if found is None:
        found = BillingPeriod(
            service_provider_id=provider.id,
            billing_month=period.billing_month,
            start_date=period.start_date,
            end_date=period.end_date,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
            time_zone=period.time_zone,
        )
        session.add(found)
        session.flush()
    return found


def provider_period(provider: ServiceProvider, billing_month: str) -> Period:
    """The provider's period that ends in `billing_month` ("YYYY-MM")."""
    return period_for_month(
        billing_month, provider.billing_cycle_end_day, provider.billing_cycle_end_hour, provider.time_zone
    )


def billing_period_id(engine: Engine, provider: ServiceProvider, billing_month: str) -> int:
    """The provider's billing period row for `billing_month` ("YYYY-MM"), made on first use."""
    with Session(engine) as session, session.begin():
        return ensure_billing_period(session, provider, provider_period(provider, billing_month)).id


def first_billing_month(engine: Engine) -> str | None:
    """The earliest billing month ("YYYY-MM") AMOP holds a period for: the first month any account
    was synced (None for a database with none)."""
    with engine.connect() as connection:
        return connection.scalar(select(func.min(BillingPeriod.billing_month)))
