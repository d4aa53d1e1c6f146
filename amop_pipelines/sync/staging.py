"""Filling the staging tables from a carrier: cleared per provider, duplicates dropped and counted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, delete, insert

from amop_pipelines.carriers.models import BYTES_PER_MB, CarrierDevice, UsageRecord
from amop_pipelines.db.models import DeviceStaging, UsageStaging

CHUNK = 5000


@dataclass(frozen=True)
class StagingReport:
    rows: int
    duplicates_dropped: int


def stage_devices(engine: Engine, provider_id: int, devices: Iterable[CarrierDevice]) -> StagingReport:
    """Replace the provider's staged devices with these, first occurrence of an ICCID winning.

    One transaction: a sync that fails half way leaves the previous staging in place.
    """
    seen: set[str] = set()
    duplicates = 0
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(DeviceStaging).where(DeviceStaging.service_provider_id == provider_id))
        chunk: list[dict] = []
        for device in devices:
            if device.iccid in seen:
                duplicates += 1
                continue
            seen.add(device.iccid)
            chunk.append(
                {
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
            )
            if len(chunk) >= CHUNK:
                connection.execute(insert(DeviceStaging), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(DeviceStaging), chunk)
    return StagingReport(len(seen), duplicates)


def stage_usage(
    engine: Engine, provider_id: int, billing_period_id: int, usage: Iterable[UsageRecord]
) -> StagingReport:
    """Replace the provider's staged usage for the period; data in MB (1 MB = 1,048,576 bytes)."""
    seen: set[str] = set()
    duplicates = 0
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(UsageStaging).where(UsageStaging.service_provider_id == provider_id))
        chunk: list[dict] = []
        for record in usage:
            if record.iccid in seen:
                duplicates += 1
                continue
            seen.add(record.iccid)
            chunk.append(
                {
                    "service_provider_id": provider_id,
                    "billing_period_id": billing_period_id,
                    "iccid": record.iccid,
                    "data_mb": (Decimal(record.data_bytes) / BYTES_PER_MB).quantize(Decimal("0.000001")),
                    "sms_count": record.sms_count,
                    "synced_at": now,
                }
            )
            if len(chunk) >= CHUNK:
                connection.execute(insert(UsageStaging), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(UsageStaging), chunk)
    return StagingReport(len(seen), duplicates)
