"""Filling the staging tables from a carrier: cleared per provider, duplicates dropped and counted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from amop_pipelines.carriers.models import BYTES_PER_MB, CarrierDevice, UsageRecord
from amop_pipelines.db.models import CarrierRatePlan, Device, DeviceStaging, UsageStaging

CHUNK = 5000


@dataclass(frozen=True)
class StagingReport:
    rows: int
    duplicates_dropped: int


def _replace_staged(
    engine: Engine, model: type, provider_id: int, rows: Iterable[dict[str, Any]]
) -> StagingReport:
    """Replace the provider's staged rows with `rows`, the first row of an ICCID winning.

    One transaction: a sync that fails half way leaves the previous staging in place.
    """
    seen: set[str] = set()
    duplicates = 0
    with engine.begin() as connection:
        connection.execute(delete(model).where(model.service_provider_id == provider_id))
        chunk: list[dict[str, Any]] = []
        for row in rows:
            if row["iccid"] in seen:
                duplicates += 1
                continue
            seen.add(row["iccid"])
            chunk.append(row)
            if len(chunk) >= CHUNK:
                connection.execute(insert(model), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(model), chunk)
    return StagingReport(len(seen), duplicates)


def staging_row(provider_id: int, device: CarrierDevice, now: datetime) -> dict[str, Any]:
    """A device as the staging table keeps it."""
    return {
        "service_provider_id": provider_id,
        "iccid": device.iccid,
        "imei": device.imei,
        "msisdn": device.msisdn,
        "imsi": device.imsi,
        "status": device.status,
        "rate_plan": device.rate_plan,
        "communication_plan": device.communication_plan,
        "customer": device.customer,
        "date_activated": device.date_activated,
        "date_updated": device.date_updated,
        "synced_at": now,
    }


def stage_devices(engine: Engine, provider_id: int, devices: Iterable[CarrierDevice]) -> StagingReport:
    now = datetime.now(UTC)
    return _replace_staged(
        engine, DeviceStaging, provider_id, (staging_row(provider_id, d, now) for d in devices)
    )


def stage_usage(
    engine: Engine,
    provider_id: int,
    billing_period_id: int,
    usage: Iterable[UsageRecord],
    period_closed: bool = False,
) -> StagingReport:
    """Staged usage for the period, in MB (1 MB = 1,048,576 bytes, kept to 6 decimals);
    `period_closed`: read after the period closed, so the month's final usage."""
    now = datetime.now(UTC)

    def rows() -> Iterator[dict[str, Any]]:
        for record in usage:
            yield {
                "service_provider_id": provider_id,
                "billing_period_id": billing_period_id,
                "iccid": record.iccid,
                "data_mb": (Decimal(record.data_bytes) / BYTES_PER_MB).quantize(Decimal("0.000001")),
                "sms_count": record.sms_count,
                "synced_at": now,
                "period_closed": period_closed,
            }

    return _replace_staged(engine, UsageStaging, provider_id, rows())


def staged_preview(engine: Engine, provider_id: int, limit: int = 10) -> list[tuple]:
    """(ICCID, status, rate plan, communication plan) of the first staged devices, for the UI."""
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    DeviceStaging.iccid,
                    DeviceStaging.status,
                    DeviceStaging.rate_plan,
                    DeviceStaging.communication_plan,
                )
                .where(DeviceStaging.service_provider_id == provider_id)
                .limit(limit)
            )
        ]


def devices_for_usage(engine: Engine, provider_id: int) -> list[CarrierDevice]:
    """Every device whose usage the period needs: the live devices AMOP knows and those just staged
    (a staged plan is the newer one), in ICCID order."""
    with engine.connect() as connection:
        staged = dict(
            connection.execute(
                select(DeviceStaging.iccid, DeviceStaging.rate_plan).where(
                    DeviceStaging.service_provider_id == provider_id
                )
            ).all()
        )
        known = connection.execute(
            select(Device.iccid, CarrierRatePlan.plan_code)
            .outerjoin(CarrierRatePlan, CarrierRatePlan.id == Device.carrier_rate_plan_id)
            .where(Device.service_provider_id == provider_id, Device.is_archived.is_(False))
        ).all()
    plans = {iccid: code for iccid, code in known} | staged
    return [CarrierDevice(iccid, "", plan, None) for iccid, plan in sorted(plans.items())]
