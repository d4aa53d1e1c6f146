"""Read-only questions the pipelines and the CLI ask of the AMOP database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from amop_pipelines.db.models import CarrierRatePlan, CommunicationPlan, Device, ServiceProvider


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


def rate_plan_ids(connection: Connection, provider_id: int) -> dict[str, int]:
    """The provider's carrier rate plans: plan code -> id."""
    query = select(CarrierRatePlan.plan_code, CarrierRatePlan.id).where(
        CarrierRatePlan.service_provider_id == provider_id
    )
    return dict(connection.execute(query).all())


def communication_plan_ids(connection: Connection, provider_id: int) -> dict[str, int]:
    """The provider's communication plans: name -> id."""
    query = select(CommunicationPlan.name, CommunicationPlan.id).where(
        CommunicationPlan.service_provider_id == provider_id
    )
    return dict(connection.execute(query).all())
