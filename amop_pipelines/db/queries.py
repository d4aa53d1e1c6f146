"""Read-only questions the pipelines and the CLI ask of the AMOP database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from amop_pipelines.db.models import CommunicationPlan, Device, ServiceProvider


@dataclass(frozen=True)
class FleetCount:
    provider: str
    communication_plan: str
    status: str
    devices: int


def fleet_counts(engine: Engine) -> list[FleetCount]:
    """Devices not archived, by provider, communication plan and status."""
    query = (
        select(ServiceProvider.name, func.coalesce(CommunicationPlan.name, ""), Device.status, func.count())
        .join(ServiceProvider, ServiceProvider.id == Device.service_provider_id)
        .outerjoin(CommunicationPlan, CommunicationPlan.id == Device.communication_plan_id)
        .where(Device.is_archived.is_(False))
        .group_by(ServiceProvider.name, CommunicationPlan.name, Device.status)
        .order_by(ServiceProvider.name, CommunicationPlan.name, Device.status)
    )
    with engine.connect() as connection:
        return [FleetCount(*row) for row in connection.execute(query)]
