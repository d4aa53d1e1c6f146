"""Staging into the device and usage tables: the seeds' `usp_Update_Jasper_Device`, in Python.

All or nothing: one transaction, so a sync never stays half-applied, and running it again
gives the same tables (an idempotent retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from amop_pipelines.billing import billed_days
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.db.models import (
    BillingPeriod,
    Customer,
    Device,
    DeviceStaging,
    DeviceUsage,
    ServiceProvider,
    UsageStaging,
)
from amop_pipelines.db.queries import communication_plan_ids, rate_plan_ids
from amop_pipelines.identifiers import iccid_problem
from amop_pipelines.sync.rate_plans import account_comm_plan

TRACKED = (
    "status",
    "imei",
    "msisdn",
    "imsi",
    "communication_plan_id",
    "carrier_rate_plan_id",
    "customer_id",
    "activated_at",  # the carrier's: a device's prorated days in a cycle follow from it
)


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (iccid, why)


def upsert_devices(engine: Engine, provider_id: int) -> UpsertReport:
    """Insert new devices, update changed ones; staged rows that fail validation are reported."""
    report = UpsertReport()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        comm = communication_plan_ids(connection, provider_id)
        integration = connection.scalar(
            select(ServiceProvider.integration).where(ServiceProvider.id == provider_id)
        )
        # a carrier without communication plans (ThingSpace): AMOP keeps a device's comm plan, and
        # a device it has not seen joins the account's own (one group over its priced plans)
        has_comm_plans = carrier_kind(integration).has_communication_plans
        account_plan: int | None = None
        plans = rate_plan_ids(connection, provider_id)
        customers = dict(connection.execute(select(Customer.external_id, Customer.id)).all())
        staged = connection.execute(
            select(DeviceStaging).where(DeviceStaging.service_provider_id == provider_id)
        ).mappings()
        staged = list(staged)
        iccids = [row["iccid"] for row in staged]
        existing = {
            row.iccid: row
            for chunk in _chunks(iccids, 5000)
            for row in connection.execute(select(Device).where(Device.iccid.in_(chunk))).all()
        }
        inserts, updates = [], []
        for row in staged:
            iccid = row["iccid"]
            problem = iccid_problem(iccid)
            if problem:
                report.rejected.append((iccid, f"iccid {problem}"))
                continue
            found = existing.get(iccid)
            comm_plan_id: int | None
            if row["communication_plan"] is None and not has_comm_plans:
                if found is not None:
                    comm_plan_id = None  # AMOP's own assignment stays
                else:
                    if account_plan is None:
                        account_plan = account_comm_plan(connection, provider_id)
                    comm_plan_id = account_plan
            elif row["communication_plan"] not in comm:
                report.rejected.append(
                    (iccid, f"communication plan '{row['communication_plan']}' is unknown")
                )
                continue
            else:
                comm_plan_id = comm[row["communication_plan"]]
            if row["rate_plan"] not in plans:
                report.rejected.append((iccid, f"rate plan '{row['rate_plan']}' is unknown"))
                continue
            values = {
                "status": row["status"],
                "imei": row["imei"],
                "msisdn": row["msisdn"],
                "imsi": row["imsi"],
                "communication_plan_id": comm_plan_id,
                "carrier_rate_plan_id": plans[row["rate_plan"]],
                "customer_id": customers.get(row["customer"]) if row["customer"] else None,
                "activated_at": row["date_activated"],
            }
            if found is None:
                inserts.append(
                    {
                        **values,
                        "service_provider_id": provider_id,
                        "iccid": iccid,
                        "carrier_updated_at": row["date_updated"],
                        "is_archived": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                continue
            if found.service_provider_id != provider_id:
                report.rejected.append((iccid, "the ICCID belongs to another service provider"))
                continue
            # a sync fills in what the carrier reports; it never blanks what it does not report
            changed = {k: v for k, v in values.items() if v is not None and getattr(found, k) != v}
            if changed:
                merged = {k: getattr(found, k) for k in TRACKED} | changed
                updates.append({"b_id": found.id, **{f"v_{k}": v for k, v in merged.items()}})
            else:
                report.unchanged += 1
        if inserts:
            connection.execute(insert(Device), inserts)
        if updates:
            statement = (
                update(Device)
                .where(Device.id == bindparam("b_id"))
                .values({k: bindparam(f"v_{k}") for k in TRACKED} | {"updated_at": now})
            )
            connection.execute(statement, updates)
        report.inserted, report.updated = len(inserts), len(updates)
    return report


def _chunks(values: list[str], size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class UsageReport:
    rows: int
    unknown_devices: int
    final: bool = False  # the period's final usage (read after it closed)


def upsert_usage(engine: Engine, provider_id: int, billing_period_id: int) -> UsageReport:
    """Replace the period's usage of the provider's devices with the staged usage.

    A device activated during the period gets `days_active` (local days from its activation to the
    period's end day, both counted). Usage read after the period closed is its final usage: the
    period is marked with the time (`final_usage_at`), and the realized savings may be priced.
    """
    with engine.begin() as connection:
        period = connection.execute(select(BillingPeriod).where(BillingPeriod.id == billing_period_id)).one()
        devices = {
            iccid: (device_id, activated)
            for iccid, device_id, activated in connection.execute(
                select(Device.iccid, Device.id, Device.activated_at).where(
                    Device.service_provider_id == provider_id
                )
            )
        }
        staged = connection.execute(
            select(
                UsageStaging.iccid, UsageStaging.data_mb, UsageStaging.sms_count, UsageStaging.period_closed
            ).where(
                UsageStaging.service_provider_id == provider_id,
                UsageStaging.billing_period_id == billing_period_id,
            )
        ).all()
        zone = ZoneInfo(period.time_zone)
        cycle_days = billed_days(period.start_date, period.end_date)
        rows, unknown = [], 0
        for iccid, data_mb, sms, _ in staged:
            if iccid not in devices:
                unknown += 1
                continue
            device_id, activated = devices[iccid]
            days = None
            if activated is not None and activated > period.starts_at:
                days = max(
                    0, min(cycle_days, billed_days(activated.astimezone(zone).date(), period.end_date))
                )
            rows.append(
                {
                    "device_id": device_id,
                    "billing_period_id": billing_period_id,
                    "data_mb": data_mb,
                    "sms_count": sms,
                    "days_active": days,
                    "updated_at": datetime.now(UTC),
                }
            )
        ids = [device_id for device_id, _ in devices.values()]
        for chunk in _chunks(ids, 5000):
            connection.execute(
                delete(DeviceUsage).where(
                    DeviceUsage.billing_period_id == billing_period_id, DeviceUsage.device_id.in_(chunk)
                )
            )
        if rows:
            connection.execute(insert(DeviceUsage), rows)
        final = bool(staged) and all(row.period_closed for row in staged)
        connection.execute(
            update(BillingPeriod)
            .where(BillingPeriod.id == billing_period_id)
            .values(final_usage_at=datetime.now(UTC) if final else None)
        )
    return UsageReport(len(rows), unknown, final)
