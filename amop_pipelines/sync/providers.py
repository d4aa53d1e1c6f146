"""Service providers as Dagster partitions see them: a stable key per provider."""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from amop_pipelines.db.models import Device, ServiceProvider


def provider_key(name: str) -> str:
    """A partition key from a provider's name: lower case, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def active_providers(engine: Engine) -> list[ServiceProvider]:
    """The active accounts, detached (their settings read after the session closes)."""
    with Session(engine) as session:
        providers = session.scalars(
            select(ServiceProvider).where(ServiceProvider.is_active).order_by(ServiceProvider.id)
        ).all()
        session.expunge_all()
    return list(providers)


def active_provider_keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        names = session.scalars(select(ServiceProvider.name).where(ServiceProvider.is_active)).all()
    return sorted(provider_key(name) for name in names)


def find_provider(session: Session, key: str) -> ServiceProvider:
    for provider in session.scalars(select(ServiceProvider)):
        if provider_key(provider.name) == key:
            return provider
    raise LookupError(f"no service provider has the partition key '{key}'")


def live_device_count(engine: Engine, provider_id: int) -> int:
    """The provider's devices not archived, as AMOP holds them now."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count())
            .select_from(Device)
            .where(Device.service_provider_id == provider_id, Device.is_archived.is_(False))
        )
