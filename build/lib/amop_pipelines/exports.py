"""Exports of the AMOP database to the CSV contracts (`amop devices export`, `amop rate-plans export`)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session, aliased

from amop_pipelines.contracts import COMM_PLAN_SEPARATOR, DEVICES_COLUMNS, PLANS_COLUMNS, write_csv
from amop_pipelines.db.models import (
    BillingPeriod,
    CarrierRatePlan,
    CommunicationPlan,
    CommunicationPlanRatePlan,
    Customer,
    Device,
    DeviceUsage,
    OptimizationGroup,
    ServiceProvider,
)


class ExportError(ValueError):
    """The export cannot be written as asked (unknown provider, ambiguous plan codes)."""


def _provider_ids(engine: Engine, provider: str | None) -> list[int]:
    with engine.connect() as connection:
        query = select(ServiceProvider.id).order_by(ServiceProvider.id)
        if provider is not None:
            query = query.where(ServiceProvider.name == provider)
        ids = list(connection.scalars(query))
    if provider is not None and not ids:
        raise ExportError(f"unknown service provider '{provider}'")
    return ids


def export_rate_plans(engine: Engine, out: Path, provider: str | None = None) -> int:
    """Write plans.csv for one provider (or all, when their plan codes do not clash)."""
    providers = _provider_ids(engine, provider)
    group = aliased(OptimizationGroup)
    with Session(engine) as session:
        plans = session.execute(
            select(CarrierRatePlan, group.name.label("group_name"))
            .outerjoin(group, group.id == CarrierRatePlan.optimization_group_id)
            .where(CarrierRatePlan.service_provider_id.in_(providers), CarrierRatePlan.is_active)
            .order_by(CarrierRatePlan.service_provider_id, CarrierRatePlan.plan_code)
        ).all()
        allowed = session.execute(
            select(CommunicationPlanRatePlan.carrier_rate_plan_id, CommunicationPlan.name)
            .join(CommunicationPlan, CommunicationPlan.id == CommunicationPlanRatePlan.communication_plan_id)
            .order_by(CommunicationPlan.name)
        ).all()
    comm_plans: dict[int, list[str]] = defaultdict(list)
    for plan_id, name in allowed:
        comm_plans[plan_id].append(name)
    codes = [plan.plan_code for plan, _ in plans]
    clashing = sorted({code for code in codes if codes.count(code) > 1})
    if clashing:
        raise ExportError(
            f"plan codes {', '.join(clashing)} exist at several providers: name one with --provider"
        )
    return write_csv(
        out,
        PLANS_COLUMNS,
        (
            (
                p.plan_code,
                p.monthly_charge,
                p.allowance_mb,
                p.overage_rate,
                p.overage_unit_mb,
                p.sms_rate,
                p.is_pooled,
                COMM_PLAN_SEPARATOR.join(comm_plans[p.id]),
                group_name,
            )
            for p, group_name in plans
        ),
    )


def export_devices(
    engine: Engine,
    out: Path,
    provider: str | None = None,
    billing_month: str | None = None,
    customer_pools: bool = False,
) -> int:
    """Write devices.csv: every device not archived, with its usage in the chosen billing period.

    The period is `billing_month` or each provider's latest; devices with no usage row there
    get 0 MB. `pool_key` is the customer for devices in a customer rate pool when
    `customer_pools` is set, else empty (one shared pool for the account).
    """
    providers = _provider_ids(engine, provider)
    periods = select(
        BillingPeriod.service_provider_id, func.max(BillingPeriod.billing_month).label("month")
    ).group_by(BillingPeriod.service_provider_id)
    if billing_month is not None:
        periods = select(BillingPeriod.service_provider_id, BillingPeriod.billing_month.label("month")).where(
            BillingPeriod.billing_month == billing_month
        )
    periods = periods.subquery()
    period = aliased(BillingPeriod)
    usage_period = (
        select(period.id, period.service_provider_id)
        .join(
            periods,
            and_(
                periods.c.service_provider_id == period.service_provider_id,
                periods.c.month == period.billing_month,
            ),
        )
        .subquery()
    )
    group = aliased(OptimizationGroup)
    query = (
        select(
            Device.iccid,
            CommunicationPlan.name,
            func.coalesce(DeviceUsage.data_mb, 0),
            func.coalesce(DeviceUsage.sms_count, 0),
            DeviceUsage.days_active,
            Customer.external_id,
            Device.customer_rate_pool_id,
            CarrierRatePlan.plan_code,
            group.name,
        )
        .join(CommunicationPlan, CommunicationPlan.id == Device.communication_plan_id)
        .outerjoin(CarrierRatePlan, CarrierRatePlan.id == Device.carrier_rate_plan_id)
        .outerjoin(group, group.id == Device.optimization_group_id)
        .outerjoin(Customer, Customer.id == Device.customer_id)
        .outerjoin(usage_period, usage_period.c.service_provider_id == Device.service_provider_id)
        .outerjoin(
            DeviceUsage,
            and_(DeviceUsage.device_id == Device.id, DeviceUsage.billing_period_id == usage_period.c.id),
        )
        .where(Device.service_provider_id.in_(providers), Device.is_archived.is_(False))
        .order_by(Device.iccid)
    )
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=50_000).execute(query)
        return write_csv(
            out,
            DEVICES_COLUMNS,
            (
                (
                    iccid,
                    comm,
                    usage,
                    sms,
                    days,
                    customer if customer_pools and pool_id is not None else None,
                    current,
                    group_name,
                )
                for iccid, comm, usage, sms, days, customer, pool_id, current, group_name in rows
            ),
        )
