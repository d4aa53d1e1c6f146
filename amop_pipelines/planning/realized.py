"""What an optimization actually saved, once its billing period has closed.

Every optimization runs days before close, on projected usage. After close, with the month's final
usage synced (`BillingPeriod.final_usage_at`), the month is priced on that usage three ways:

- before: the plans the devices had when the optimization ran (its results' current plans);
- actual: the plans the devices had at close, as the sync after close read them from the carrier
  (the recommendations as they were applied, or not);
- hindsight: the exact method on the final usage (no method does better knowing the future;
  if its answer costs more than the plans held, those plans are the hindsight answer).

Realized savings = before - actual; left on the table = actual - hindsight. The projection's
error is projected MB (the optimization's) against final MB, per device and in total.
The devices priced are those both in the optimization's results and on a priced plan at close;
the others are counted as left out. Money is in integer cents (pools rounded half-up, as the
cost model says) and shown as Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, delete, insert, select, union_all
from sqlalchemy.orm import Session, aliased

from amop_pipelines.billing import last_closed_period
from amop_pipelines.db.bulk import insert_rows
from amop_pipelines.db.models import (
    BillingPeriod,
    CarrierRatePlan,
    Device,
    OptimizationCommGroup,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationMobilityDeviceResult,
    OptimizationQueue,
    OptimizationSession,
    RealizedSavings,
    RealizedSavingsDevice,
    ServiceProvider,
)
from amop_pipelines.optimization.cost import assignment_cost, cents_to_decimal
from amop_pipelines.optimization.exact import exact_optimize
from amop_pipelines.optimization.problem import MB_SCALE
from amop_pipelines.planning.inputs import load_month
from amop_pipelines.planning.results import winning_queues
from amop_pipelines.reports.workbook import RealizedSheet
from amop_pipelines.sync.periods import provider_period

SETTLE = timedelta(hours=24)  # carriers finish a closed cycle's usage within a day of close


class NotReady(ValueError):
    """The month cannot be priced yet (or ever); the message says why and what to do."""


@dataclass(frozen=True)
class DeviceOutcome:
    device_id: int
    iccid: str
    plan_before: str
    plan_recommended: str
    plan_actual: str
    plan_hindsight: str
    projected_mb: Decimal
    actual_mb: Decimal

    @property
    def error_mb(self) -> Decimal:
        """Projected less actual: above 0, the projection ran high."""
        return self.projected_mb - self.actual_mb

    def row(self) -> list:
        """The device as DEVICE_COLUMNS."""
        return [
            self.iccid,
            self.plan_before,
            self.plan_recommended,
            self.plan_actual,
            self.plan_hindsight,
            self.projected_mb,
            self.actual_mb,
            self.error_mb,
        ]


def largest_errors_first(outcomes: list[DeviceOutcome]) -> list[DeviceOutcome]:
    return sorted(outcomes, key=lambda o: (-abs(o.error_mb), o.iccid))


@dataclass(frozen=True)
class RealizedTotals:
    """A closed month's totals: the one place its realized savings and projection error are
    worked out, for the asset's metadata and the next report alike."""

    billing_month: str
    devices: int
    devices_changed: int
    cost_before: Decimal
    cost_actual: Decimal
    cost_hindsight: Decimal
    projected_mb: Decimal
    actual_mb: Decimal

    @property
    def realized_savings(self) -> Decimal:
        return self.cost_before - self.cost_actual

    @property
    def left_on_table(self) -> Decimal:
        return self.cost_actual - self.cost_hindsight

    @property
    def projection_error(self) -> float | None:
        """(projected - actual) / actual over all devices: above 0, the projection ran high."""
        return float((self.projected_mb - self.actual_mb) / self.actual_mb) if self.actual_mb else None

    def row(self) -> list:
        """The month as MONTH_COLUMNS."""
        return [
            self.billing_month,
            self.devices,
            self.devices_changed,
            self.cost_before,
            self.cost_actual,
            self.cost_hindsight,
            self.realized_savings,
            self.left_on_table,
            self.projected_mb,
            self.actual_mb,
            self.projection_error,
        ]


@dataclass
class RealizedMonth:
    provider_name: str
    billing_month: str
    currency: str
    billing_period_id: int
    session_id: int
    devices_left_out: int
    cost_before_cents: int
    cost_actual_cents: int
    cost_hindsight_cents: int
    final_usage_at: datetime
    outcomes: list[DeviceOutcome]

    @cached_property
    def totals(self) -> RealizedTotals:
        return RealizedTotals(
            self.billing_month,
            len(self.outcomes),
            sum(o.plan_before != o.plan_actual for o in self.outcomes),
            cents_to_decimal(self.cost_before_cents),
            cents_to_decimal(self.cost_actual_cents),
            cents_to_decimal(self.cost_hindsight_cents),
            sum((o.projected_mb for o in self.outcomes), Decimal(0)),
            sum((o.actual_mb for o in self.outcomes), Decimal(0)),
        )

    @property
    def absolute_error_mb(self) -> Decimal:
        return sum((abs(o.error_mb) for o in self.outcomes), Decimal(0))

    def largest_errors(self, count: int = 20) -> list[DeviceOutcome]:
        return largest_errors_first(self.outcomes)[:count]


def _period(engine: Engine, provider: ServiceProvider, billing_month: str) -> BillingPeriod:
    with Session(engine) as session:
        found = session.scalars(
            select(BillingPeriod).filter_by(service_provider_id=provider.id, billing_month=billing_month)
        ).one_or_none()
        if found is not None:
            session.expunge(found)
    closes = provider_period(provider, billing_month).ends_at
    local = f"{closes.astimezone(ZoneInfo(provider.time_zone)):%Y-%m-%d %H:%M} {provider.time_zone}"
    if found is None or found.final_usage_at is None:
        raise NotReady(
            f"{provider.name} {billing_month}: the final usage is not synced yet; the period closes "
            f"{local}, and the month's sync after that (device_usage: final) reads it"
        )
    return found


def _winning_session(session: Session, period_id: int) -> int | None:
    """The latest optimization of the whole account for the period that chose winners."""
    return session.scalar(
        select(OptimizationSession.id)
        .join(OptimizationInstance, OptimizationInstance.session_id == OptimizationSession.id)
        .join(OptimizationCommGroup, OptimizationCommGroup.instance_id == OptimizationInstance.id)
        .join(OptimizationQueue, OptimizationQueue.comm_group_id == OptimizationCommGroup.id)
        .where(
            OptimizationSession.billing_period_id == period_id,
            OptimizationSession.customer_id.is_(None),
            OptimizationQueue.is_winner,
        )
        .order_by(OptimizationSession.id.desc())
        .limit(1)
    )


def _optimization(engine: Engine, period: BillingPeriod) -> tuple[int, dict[int, tuple[str, str, Decimal]]]:
    """The latest whole-account optimization of the period with winners: its session, and per
    device (plan before, plan recommended, projected MB)."""
    with Session(engine) as session:
        session_id = _winning_session(session, period.id)
        if session_id is None:
            raise NotReady(
                f"billing month {period.billing_month}: no optimization of the whole account chose "
                "winners before close, so there is nothing to measure"
            )
        before, recommended = aliased(CarrierRatePlan), aliased(CarrierRatePlan)
        winning = winning_queues(OptimizationInstance.session_id == session_id)
        reads = [
            select(
                table.device_id,
                before.plan_code.label("before"),
                recommended.plan_code.label("recommended"),
                table.projected_usage_mb,
                table.usage_mb,
            )
            .join(before, before.id == table.current_rate_plan_id)
            .join(recommended, recommended.id == table.recommended_rate_plan_id)
            .where(table.queue_id.in_(winning))
            for table in (OptimizationDeviceResult, OptimizationMobilityDeviceResult)
        ]
        rows = session.execute(union_all(*reads)).all()
    return session_id, {
        device_id: (plan_before, plan_recommended, projected if projected is not None else to_date)
        for device_id, plan_before, plan_recommended, projected, to_date in rows
    }


def realized_month(
    engine: Engine, provider: ServiceProvider, billing_month: str, milp_seconds: float | None = None
) -> RealizedMonth:
    """The closed month priced three ways on its final usage (NotReady before it can be)."""
    period = _period(engine, provider, billing_month)
    session_id, optimized = _optimization(engine, period)
    month = load_month(
        engine, provider.id, period, provider_period(provider, billing_month), period.ends_at, project=False
    )
    problem = month.problem
    index = problem.plans.index()
    rows = [
        i
        for i, device_id in enumerate(month.device_ids.tolist())
        if device_id in optimized
        and problem.devices.current[i] >= 0
        and optimized[device_id][0] in index
        and optimized[device_id][1] in index
    ]
    left_out = len(set(optimized) | set(month.device_ids.tolist())) - len(rows)
    keep = np.array(rows, dtype=np.int64)
    sub = problem.subset(keep)
    before = np.array([index[optimized[int(month.device_ids[i])][0]] for i in rows], dtype=np.int64)
    actual = sub.devices.current.astype(np.int64)
    before_cents = assignment_cost(sub, before).total_cents if rows else 0
    actual_cents = assignment_cost(sub, actual).total_cents if rows else 0
    hindsight, hindsight_cents = actual, actual_cents
    if rows:
        found = exact_optimize(sub, milp_seconds=milp_seconds)
        for candidate, cents in ((found.assignment, found.total_cents), (before, before_cents)):
            if cents < hindsight_cents:
                hindsight, hindsight_cents = candidate, cents
    codes = problem.plans.codes
    outcomes = [
        DeviceOutcome(
            device_id=int(month.device_ids[i]),
            iccid=problem.devices.iccids[i],
            plan_before=codes[before[n]],
            plan_recommended=optimized[int(month.device_ids[i])][1],
            plan_actual=codes[actual[n]],
            plan_hindsight=codes[hindsight[n]],
            projected_mb=Decimal(optimized[int(month.device_ids[i])][2]),
            actual_mb=Decimal(int(sub.devices.usage[n])) / MB_SCALE,
        )
        for n, i in enumerate(rows)
    ]
    return RealizedMonth(
        provider_name=provider.name,
        billing_month=billing_month,
        currency=provider.currency,
        billing_period_id=period.id,
        session_id=session_id,
        devices_left_out=left_out,
        cost_before_cents=before_cents,
        cost_actual_cents=actual_cents,
        cost_hindsight_cents=hindsight_cents,
        final_usage_at=period.final_usage_at,  # type: ignore[arg-type]
        outcomes=outcomes,
    )


def store_realized(engine: Engine, realized: RealizedMonth) -> int:
    """The month's realized savings replace any stored before (one row per period)."""
    totals, period_id = realized.totals, realized.billing_period_id
    with engine.begin() as connection:
        connection.execute(delete(RealizedSavings).where(RealizedSavings.billing_period_id == period_id))
        realized_id = connection.execute(
            insert(RealizedSavings)
            .values(
                billing_period_id=period_id,
                session_id=realized.session_id,
                devices=totals.devices,
                devices_left_out=realized.devices_left_out,
                devices_changed=totals.devices_changed,
                cost_before=totals.cost_before,
                cost_actual=totals.cost_actual,
                cost_hindsight=totals.cost_hindsight,
                projected_mb=totals.projected_mb,
                actual_mb=totals.actual_mb,
                absolute_error_mb=realized.absolute_error_mb,
                final_usage_at=realized.final_usage_at,
                computed_at=datetime.now(UTC),
            )
            .returning(RealizedSavings.id)
        ).scalar_one()
        rows = [
            {
                "realized_id": realized_id,
                "device_id": o.device_id,
                "plan_before": o.plan_before,
                "plan_recommended": o.plan_recommended,
                "plan_actual": o.plan_actual,
                "plan_hindsight": o.plan_hindsight,
                "projected_mb": o.projected_mb,
                "actual_mb": o.actual_mb,
            }
            for o in realized.outcomes
        ]
        insert_rows(connection, RealizedSavingsDevice.__table__, rows)
    return realized_id


MONTH_COLUMNS = [
    "Billing month",
    "Devices",
    "Devices changed",
    "Cost before",
    "Cost at close",
    "Hindsight optimum",
    "Realized savings",
    "Left on the table",
    "Projected MB",
    "Actual MB",
    "Projection error",
]
DEVICE_COLUMNS = [
    "ICCID",
    "Plan before",
    "Recommended plan",
    "Plan at close",
    "Hindsight plan",
    "Projected MB",
    "Actual MB",
    "Error MB",
]


def realized_sheet(
    engine: Engine, provider_id: int, before_month: str, months: int = 12
) -> RealizedSheet | None:
    """For the next report: the provider's realized months before `before_month` (newest first,
    at most `months`), and the newest one's devices (the largest projection errors first)."""
    with Session(engine) as session:
        stored = session.execute(
            select(RealizedSavings, BillingPeriod.billing_month)
            .join(BillingPeriod, BillingPeriod.id == RealizedSavings.billing_period_id)
            .where(
                BillingPeriod.service_provider_id == provider_id, BillingPeriod.billing_month < before_month
            )
            .order_by(BillingPeriod.billing_month.desc())
            .limit(months)
        ).all()
        if not stored:
            return None
        month_rows = [
            RealizedTotals(
                month,
                r.devices,
                r.devices_changed,
                r.cost_before,
                r.cost_actual,
                r.cost_hindsight,
                r.projected_mb,
                r.actual_mb,
            ).row()
            for r, month in stored
        ]
        newest = stored[0][0]
        devices = session.execute(
            select(RealizedSavingsDevice, Device.iccid)
            .join(Device, Device.id == RealizedSavingsDevice.device_id)
            .where(RealizedSavingsDevice.realized_id == newest.id)
        ).all()
    outcomes = [
        DeviceOutcome(
            d.device_id,
            iccid,
            d.plan_before,
            d.plan_recommended,
            d.plan_actual,
            d.plan_hindsight,
            d.projected_mb,
            d.actual_mb,
        )
        for d, iccid in devices
    ]
    device_rows = [o.row() for o in largest_errors_first(outcomes)]
    return RealizedSheet(MONTH_COLUMNS, month_rows, stored[0][1], DEVICE_COLUMNS, device_rows)


def month_to_price(engine: Engine, provider: ServiceProvider, now: datetime) -> str | None:
    """The provider's last closed month, once a day has passed since its close (SETTLE), if an
    optimization of the whole account chose winners for it and it is not priced yet."""
    closed = last_closed_period(
        now, provider.billing_cycle_end_day, provider.billing_cycle_end_hour, provider.time_zone
    )
    last = closed.billing_month
    if now < closed.ends_at + SETTLE:
        return None
    with Session(engine) as session:
        period_id = session.scalar(
            select(BillingPeriod.id).filter_by(service_provider_id=provider.id, billing_month=last)
        )
        if period_id is None or session.scalar(
            select(RealizedSavings.id).filter_by(billing_period_id=period_id)
        ):
            return None
        chose = _winning_session(session, period_id)
    return last if chose is not None else None
