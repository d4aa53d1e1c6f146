"""A provider's billing month as the planning code loads it (shared by the planning tests)."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines.db.models import BillingPeriod, ServiceProvider
from amop_pipelines.sync.periods import provider_period


def provider_month(engine, integration: str):
    """(provider, billing period row, period) of the provider with that integration."""
    with Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration=integration)).one()
        billing_period = session.scalars(
            sa.select(BillingPeriod).filter_by(service_provider_id=provider.id)
        ).one()
        session.expunge_all()
    return provider, billing_period, provider_period(provider, billing_period.billing_month)
