"""Whether a provider's devices were synced recently enough, in this billing cycle, to skip a sync
(the seeds' "do not sync twice within hours" rule), and the stamp that says when they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from amop_pipelines.billing import Period
from amop_pipelines.db.models import ServiceProvider


def recently_synced(
    provider: ServiceProvider, period: Period, hours: float, now: datetime | None = None
) -> bool:
    last = provider.last_device_sync_at
    now = now or datetime.now(UTC)
    return last is not None and last >= period.starts_at and now - last < timedelta(hours=hours)


def mark_devices_synced(engine: Engine, provider_id: int, at: datetime | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(ServiceProvider)
            .where(ServiceProvider.id == provider_id)
            .values(last_device_sync_at=at or datetime.now(UTC))
        )
