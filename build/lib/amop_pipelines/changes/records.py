"""Updates of AMOP's device records that more than one change type makes."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from amop_pipelines.db.models import CarrierRatePlan, Device


def set_carrier_plan(connection: Connection, device_id: int, provider_id: int, plan_code: str) -> None:
    plan_id = connection.scalar(
        select(CarrierRatePlan.id).where(
            CarrierRatePlan.service_provider_id == provider_id, CarrierRatePlan.plan_code == plan_code
        )
    )
    connection.execute(update(Device).where(Device.id == device_id).values(carrier_rate_plan_id=plan_id))
