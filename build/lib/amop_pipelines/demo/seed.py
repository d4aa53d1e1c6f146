"""Writes the demo fleet into the AMOP database, idempotently: seeding twice changes nothing.

Every row is found by its natural key (provider name, plan code, ICCID, ...) before it is
created, and devices and usage go in with INSERT ... ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from amop_pipelines.billing import Period, period_containing
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.contracts import COMM_PLAN_SEPARATOR, PLANS_COLUMNS, write_csv
from amop_pipelines.db.bulk import insert_ignoring_existing
from amop_pipelines.db.engine import session_scope
from amop_pipelines.db.models import (
    CarrierRatePlan,
    CommunicationPlan,
    Customer,
    CustomerRatePlan,
    CustomerRatePool,
    Device,
    DeviceUsage,
    OptimizationGroup,
    ServiceProvider,
    Site,
)
from amop_pipelines.demo.catalog import (
    COMM_PLANS,
    CUSTOMER_COUNT,
    CUSTOMER_RATE_PLANS,
    PLANS,
    PROVIDERS,
    ProviderSpec,
    customer_external_id,
    customer_has_pool,
    customer_sites,
)
from amop_pipelines.demo.fleet import generate_devices
from amop_pipelines.price_book import import_price_book
from amop_pipelines.sync.periods import ensure_billing_period
from amop_pipelines.sync.providers import provider_key


@dataclass
class SeedReport:
    devices_in_fleet: int
    devices_in_database: int
    seconds: float
    periods: dict[str, str] = field(default_factory=dict)  # provider -> billing month


def _get_or_create(session: Session, model: type, defaults: dict[str, Any] | None = None, **keys: Any):
    row = session.scalars(select(model).filter_by(**keys)).one_or_none()
    if row is None:
        row = model(**keys, **(defaults or {}))
        session.add(row)
        session.flush()
    return row


@dataclass
class _ProviderIds:
    provider_id: int
    period: Period
    billing_period_id: int
    comm_plans: dict[str, int]
    rate_plans: dict[str, int]
    groups: dict[str, int]


def price_book_rows(spec: ProviderSpec) -> list[list[object]]:
    """The demo account's price book in the plans.csv layout: the catalog's prices and which of
    its communication plans (ThingSpace: AMOP's own groups) allow each plan."""
    allowed: dict[str, list[str]] = {}
    for comm in COMM_PLANS[spec.name]:
        for code in comm.plans:
            allowed.setdefault(code, []).append(comm.name)
    return [
        [
            plan.plan_code,
            plan.monthly_charge,
            plan.allowance_mb,
            plan.overage_rate,
            plan.overage_unit_mb,
            plan.sms_rate,
            plan.pooled,
            COMM_PLAN_SEPARATOR.join(sorted(allowed.get(plan.plan_code, []))),
            plan.optimization_group or "",
        ]
        for plan in PLANS[spec.name]
    ]


def _seed_account(session: Session, spec: ProviderSpec) -> None:
    """The carrier account and, where the carrier has them, its communication plans (as the
    carrier sync finds them); prices come next, from the price book."""
    provider = _get_or_create(
        session,
        ServiceProvider,
        defaults={
            "integration": spec.integration,
            "account_name": spec.account_name,
            "billing_cycle_end_day": spec.billing_cycle_end_day,
            "billing_cycle_end_hour": 0,
            "time_zone": spec.time_zone,
            "optimization_start_hour": spec.optimization_start_hour,
            "carrier_settings": spec.carrier_settings,
        },
        name=spec.name,
    )
    if carrier_kind(spec.integration).has_communication_plans:
        for comm in COMM_PLANS[spec.name]:
            _get_or_create(session, CommunicationPlan, service_provider_id=provider.id, name=comm.name)


def _import_price_book(engine: Engine, spec: ProviderSpec) -> None:
    """Write the book to a file and import it as an operator would (`amop rate-plans import`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{provider_key(spec.name)}-prices.csv"
        write_csv(path, PLANS_COLUMNS, price_book_rows(spec))
        import_price_book(engine, spec.name, path)


def _provider_ids(session: Session, spec: ProviderSpec, as_of: datetime) -> _ProviderIds:
    provider = session.scalars(select(ServiceProvider).where(ServiceProvider.name == spec.name)).one()

    def by_name(model, key) -> dict[str, int]:
        query = select(key, model.id).where(model.service_provider_id == provider.id)
        return dict(session.execute(query).all())

    period = period_containing(as_of, spec.billing_cycle_end_day, 0, spec.time_zone)
    billing_period = ensure_billing_period(session, provider, period)
    return _ProviderIds(
        provider.id,
        period,
        billing_period.id,
        by_name(CommunicationPlan, CommunicationPlan.name),
        by_name(CarrierRatePlan, CarrierRatePlan.plan_code),
        by_name(OptimizationGroup, OptimizationGroup.name),
    )


@dataclass
class _CustomerIds:
    customers: dict[str, int]
    sites: dict[tuple[str, str], int]
    rate_plans: dict[tuple[str, str], int]
    pools: dict[str, int]


def _seed_customers(session: Session) -> _CustomerIds:
    ids = _CustomerIds({}, {}, {}, {})
    for index in range(CUSTOMER_COUNT):
        external_id = customer_external_id(index)
        customer = _get_or_create(
            session,
            Customer,
            defaults={"name": f"Customer {index + 1:02d}"},
            external_id=external_id,
        )
        ids.customers[external_id] = customer.id
        for site in customer_sites(index):
            ids.sites[external_id, site] = _get_or_create(
                session, Site, customer_id=customer.id, name=site
            ).id
        for code, charge, allowance, rate, unit, sms, pooled in CUSTOMER_RATE_PLANS:
            ids.rate_plans[external_id, code] = _get_or_create(
                session,
                CustomerRatePlan,
                defaults={
                    "name": code.title(),
                    "monthly_charge": Decimal(charge),
                    "allowance_mb": Decimal(allowance),
                    "overage_rate": Decimal(rate),
                    "overage_unit_mb": Decimal(unit),
                    "sms_rate": Decimal(sms),
                    "is_pooled": pooled,
                },
                customer_id=customer.id,
                plan_code=code,
            ).id
        if customer_has_pool(index):
            ids.pools[external_id] = _get_or_create(
                session,
                CustomerRatePool,
                defaults={"customer_rate_plan_id": ids.rate_plans[external_id, "STANDARD"]},
                customer_id=customer.id,
                name=f"{external_id} pool",
            ).id
    return ids


def _device_rows(frame: pl.DataFrame, p: _ProviderIds, c: _CustomerIds):
    start = p.period.starts_at
    for row in frame.iter_rows(named=True):
        customer = row["customer"]
        whole_cycle = row["active_fraction"] >= 1
        if whole_cycle:
            activated_at = start - timedelta(days=row["activated_days_before_start"])
        else:
            activated_at = start + timedelta(days=p.period.days * (1 - row["active_fraction"]))
        yield {
            "service_provider_id": p.provider_id,
            "iccid": row["iccid"],
            "imei": row["imei"],
            "msisdn": row["msisdn"],
            "imsi": row["imsi"],
            "status": row["status"],
            "communication_plan_id": p.comm_plans[row["comm_plan"]],
            "carrier_rate_plan_id": p.rate_plans[row["current_plan"]],
            "optimization_group_id": p.groups.get(row["optimization_group"] or ""),
            "customer_id": c.customers.get(customer) if customer else None,
            "site_id": c.sites.get((customer, row["site"])) if customer else None,
            "customer_rate_plan_id": c.rate_plans.get((customer, row["customer_rate_plan"]))
            if customer
            else None,
            "customer_rate_pool_id": c.pools.get(customer) if row["in_customer_pool"] else None,
            "activated_at": activated_at,
            "is_archived": False,
        }


def _usage_rows(frame: pl.DataFrame, p: _ProviderIds, device_ids: dict[str, int]):
    for iccid, data_mb, sms, fraction in frame.select(
        "iccid", "data_mb", "sms_count", "active_fraction"
    ).iter_rows():
        yield {
            "device_id": device_ids[iccid],
            "billing_period_id": p.billing_period_id,
            "data_mb": Decimal(str(data_mb)),
            "sms_count": sms,
            "days_active": None if fraction >= 1 else max(1, round(fraction * p.period.days)),
        }


def seed_demo(
    engine: Engine, devices: int = 5000, seed: int = 7, as_of: datetime | None = None
) -> SeedReport:
    """Seed the demo fleet: reference data, `devices` devices, and their usage this period."""
    started = time.perf_counter()
    as_of = as_of or datetime.now(UTC)
    fleet = generate_devices(devices, seed)
    report = SeedReport(devices_in_fleet=devices, devices_in_database=0, seconds=0.0)
    with session_scope(engine) as session:
        for spec in PROVIDERS:
            _seed_account(session, spec)
    for spec in PROVIDERS:
        _import_price_book(engine, spec)  # the operator's prices, through `amop rate-plans import`
    with session_scope(engine) as session:
        customer_ids = _seed_customers(session)
        provider_ids = {spec.name: _provider_ids(session, spec, as_of) for spec in PROVIDERS}
    for spec in PROVIDERS:
        ids = provider_ids[spec.name]
        report.periods[spec.name] = ids.period.billing_month
        frame = fleet.filter(pl.col("provider") == spec.name)
        with engine.begin() as connection:
            insert_ignoring_existing(
                connection,
                Device.__table__,
                _device_rows(frame, ids, customer_ids),
                ["iccid"],
            )
            device_ids = dict(
                connection.execute(
                    select(Device.iccid, Device.id).where(Device.service_provider_id == ids.provider_id)
                ).all()
            )
            insert_ignoring_existing(
                connection,
                DeviceUsage.__table__,
                _usage_rows(frame, ids, device_ids),
                ["device_id", "billing_period_id"],
            )
    with session_scope(engine) as session:
        report.devices_in_database = session.scalar(select(func.count(Device.id))) or 0
    report.seconds = time.perf_counter() - started
    return report
