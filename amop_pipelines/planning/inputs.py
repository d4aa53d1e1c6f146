"""A provider's billing month as a `Problem`: devices, their (projected) usage and the valid plans.

The rows are shaped as the public CSV contracts and go through the same validation as
`amop optimize` (`optimization.inputs`), so the database and the files obey one set of rules.
Plans not valid for optimization (overage rate or unit not above zero) are left out, and so are
devices whose communication plan allows no valid plan; both are reported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import polars as pl
from sqlalchemy import Engine, and_, func, select
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Session, aliased

from amop_pipelines.billing import Period
from amop_pipelines.contracts import COMM_PLAN_SEPARATOR, DEVICES_COLUMNS, PLANS_COLUMNS, cell
from amop_pipelines.db.models import (
    BillingPeriod,
    CarrierRatePlan,
    CommunicationPlan,
    CommunicationPlanRatePlan,
    Customer,
    Device,
    DeviceUsage,
    OptimizationGroup,
)
from amop_pipelines.memory import no_cyclic_gc
from amop_pipelines.optimization.inputs import devices_from_frame, plans_from_rows
from amop_pipelines.optimization.problem import Problem
from amop_pipelines.optimization.projection import project_usage


@dataclass
class LoadedMonth:
    problem: Problem
    device_ids: np.ndarray  # AMOP device id per problem row
    msisdns: list[str | None]
    ctd_mb: np.ndarray  # cycle-to-date usage, MB
    projected_mb: np.ndarray  # the usage the problem optimizes for, MB
    invalid_plans: list[str] = field(default_factory=list)
    unpriced_plans: list[str] = field(default_factory=list)  # at the carrier, not priced yet
    excluded_devices: list[str] = field(default_factory=list)  # ICCIDs no valid plan is allowed for


def _plans(
    session: Session, provider_id: int
) -> tuple[list[list[str]], list[str], list[str], dict[str, set[str]]]:
    group = aliased(OptimizationGroup)
    plans = session.execute(
        select(CarrierRatePlan, group.name)
        .outerjoin(group, group.id == CarrierRatePlan.optimization_group_id)
        .where(CarrierRatePlan.service_provider_id == provider_id, CarrierRatePlan.is_active)
        .order_by(CarrierRatePlan.plan_code)
    ).all()
    allowed: dict[int, list[str]] = defaultdict(list)
    for plan_id, comm in session.execute(
        select(CommunicationPlanRatePlan.carrier_rate_plan_id, CommunicationPlan.name).join(
            CommunicationPlan, CommunicationPlan.id == CommunicationPlanRatePlan.communication_plan_id
        )
    ):
        allowed[plan_id].append(comm)
    rows, invalid, unpriced = [list(PLANS_COLUMNS)], [], []
    comm_plans_with_valid: dict[str, set[str]] = defaultdict(set)  # comm plan -> groups it serves
    for plan, group_name in plans:
        if not plan.is_priced:  # never recommended before an operator prices it
            unpriced.append(plan.plan_code)
            continue
        if plan.overage_rate <= 0 or plan.overage_unit_mb <= 0:
            invalid.append(plan.plan_code)
            continue
        if not allowed[plan.id]:
            continue
        for comm in allowed[plan.id]:
            comm_plans_with_valid[comm].add(group_name or "")
        rows.append(
            [
                plan.plan_code,
                cell(plan.monthly_charge),
                cell(plan.allowance_mb),
                cell(plan.overage_rate),
                cell(plan.overage_unit_mb),
                cell(plan.sms_rate),
                cell(plan.is_pooled),
                COMM_PLAN_SEPARATOR.join(sorted(allowed[plan.id])),
                group_name or "",
            ]
        )
    return rows, invalid, unpriced, comm_plans_with_valid


def load_month(
    engine: Engine,
    provider_id: int,
    billing_period: BillingPeriod,
    period: Period,
    as_of: datetime,
    project: bool = True,
    pool_by_customer: bool = False,
    customer: str | None = None,
) -> LoadedMonth:
    """The provider's devices not archived, with the period's usage projected to the cycle's end.

    With `customer` (an external id), only that customer's devices: the seeds' customer
    optimization, usually with `pool_by_customer` so that its customer rate pools are pools.
    """
    return load_month_and_to_date(
        engine, provider_id, billing_period, period, as_of, project, pool_by_customer, customer
    )[0]


@no_cyclic_gc()
def load_month_and_to_date(
    engine: Engine,
    provider_id: int,
    billing_period: BillingPeriod,
    period: Period,
    as_of: datetime,
    project: bool = True,
    pool_by_customer: bool = False,
    customer: str | None = None,
) -> tuple[LoadedMonth, LoadedMonth]:
    """`load_month`, and the same devices on their cycle-to-date usage, from one read of the
    database (the optimization compares the winner on both)."""
    cycle_days = period.days
    with Session(engine) as session:
        plan_rows, invalid, unpriced, servable = _plans(session, provider_id)
        plan_code = aliased(CarrierRatePlan)
        group = aliased(OptimizationGroup)
        history = (
            select(DeviceUsage.device_id, func.avg(DeviceUsage.data_mb).label("avg_mb"))
            .join(BillingPeriod, BillingPeriod.id == DeviceUsage.billing_period_id)
            .where(
                BillingPeriod.service_provider_id == provider_id,
                BillingPeriod.ends_at <= billing_period.starts_at,
            )
            .group_by(DeviceUsage.device_id)
            .subquery()
        )
        rows = session.execute(
            select(
                Device.id,
                Device.iccid,
                Device.msisdn,
                CommunicationPlan.name,
                func.coalesce(DeviceUsage.data_mb, 0),
                func.coalesce(DeviceUsage.sms_count, 0),
                DeviceUsage.days_active,
                Device.activated_at,
                Customer.external_id,
                Device.customer_rate_pool_id,
                plan_code.plan_code,
                group.name,
                history.c.avg_mb,
            )
            .join(CommunicationPlan, CommunicationPlan.id == Device.communication_plan_id)
            .outerjoin(plan_code, plan_code.id == Device.carrier_rate_plan_id)
            .outerjoin(group, group.id == Device.optimization_group_id)
            .outerjoin(Customer, Customer.id == Device.customer_id)
            .outerjoin(
                DeviceUsage,
                and_(DeviceUsage.device_id == Device.id, DeviceUsage.billing_period_id == billing_period.id),
            )
            .outerjoin(history, history.c.device_id == Device.id)
            .where(
                Device.service_provider_id == provider_id,
                Device.is_archived.is_(False),
                Customer.external_id == customer if customer is not None else sa_true(),
            )
            .order_by(Device.iccid)
        ).all()
    kept, excluded = [], []
    for row in rows:
        (excluded if (row[11] or "") not in servable.get(row[3], set()) else kept).append(row)
    excluded_iccids = [row[1] for row in excluded]
    valid_codes = {row[0] for row in plan_rows[1:]}
    elapsed = period.days_elapsed(as_of)
    ctd = np.array([float(r[4]) for r in kept])
    active_days = np.array([float(r[6]) if r[6] is not None else float(cycle_days) for r in kept])
    so_far = np.minimum(active_days, np.maximum(0.0, elapsed - (cycle_days - active_days)))
    past = np.array([float(r[12]) if r[12] is not None else np.nan for r in kept])
    projected = project_usage(ctd, so_far, active_days, cycle_days, past) if project and len(kept) else ctd
    frame = pl.DataFrame(
        {
            "iccid": [r[1] for r in kept],
            "comm_plan": [r[3] for r in kept],
            "usage_mb": [f"{value:.6f}" for value in projected],
            "sms_count": [str(int(r[5])) for r in kept],
            "days_active": ["" if r[6] is None else str(r[6]) for r in kept],
            "pool_key": [(r[8] or "") if pool_by_customer and r[9] is not None else "" for r in kept],
            # a device on a plan that cannot be optimized has no costable current plan
            "current_plan": [r[10] if r[10] in valid_codes else "" for r in kept],
            "optimization_group": [r[11] or "" for r in kept],
        },
        schema={column: pl.String for column in DEVICES_COLUMNS},
    )
    source = f"database: provider {provider_id}, billing month {billing_period.billing_month}"
    plans = plans_from_rows(f"{source} (plans)", plan_rows)
    month = LoadedMonth(
        problem=Problem(devices_from_frame(source, frame, plans, cycle_days), plans, cycle_days),
        device_ids=np.array([r[0] for r in kept], dtype=np.int64),
        msisdns=[r[2] for r in kept],
        ctd_mb=ctd,
        projected_mb=np.asarray(projected, dtype=np.float64),
        invalid_plans=invalid,
        unpriced_plans=unpriced,
        excluded_devices=excluded_iccids,
    )
    if not project:
        return month, month
    to_date_frame = frame.with_columns(
        pl.Series("usage_mb", [f"{value:.6f}" for value in ctd], dtype=pl.String)
    )
    to_date = replace(
        month,
        problem=Problem(devices_from_frame(source, to_date_frame, plans, cycle_days), plans, cycle_days),
        projected_mb=ctd,
    )
    return month, to_date
