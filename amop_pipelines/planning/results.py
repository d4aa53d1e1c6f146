"""Storing what an optimization compared and found, marking the winners, reading it back for the
report. Totals are exact (integer cents from the cost engine); per-plan and per-device figures
are the engine's shares of pooled costs, rounded to cents."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from sqlalchemy import ColumnElement, Engine, Select, String, cast, insert, select, update
from sqlalchemy.orm import Session, aliased

from amop_pipelines.billing import period_for_month
from amop_pipelines.db.models import (
    CarrierRatePlan,
    CommunicationPlan,
    Device,
    OptimizationCommGroup,
    OptimizationCustomerProcessing,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationMobilityDeviceResult,
    OptimizationQueue,
    OptimizationQueueRatePlan,
    OptimizationResultFile,
    OptimizationSession,
    OptimizationSharedPoolResult,
    ServiceProvider,
)
from amop_pipelines.db.queries import rate_plan_ids
from amop_pipelines.memory import no_cyclic_gc
from amop_pipelines.optimization.cost import cents_to_decimal
from amop_pipelines.planning import automation
from amop_pipelines.planning.month import MonthInputs, MonthOutcome
from amop_pipelines.planning.runs import MonthRun
from amop_pipelines.planning.store import store_results
from amop_pipelines.reports import assignments as assignment_rows
from amop_pipelines.reports.workbook import MONEY, PERCENT, Line, PlanStatistics, PoolRow
from amop_pipelines.sync.providers import provider_key

UNCHANGED = "unchanged"  # the "method" of a group that is not optimized: its devices keep their plans
NOTHING_TO_OPTIMIZE = "nothing to optimize"  # the winner when no group could be optimized


def _plan_ids(engine: Engine, provider_id: int) -> dict[str, int]:
    with engine.connect() as connection:
        return rate_plan_ids(connection, provider_id)


def _provider_id(engine: Engine, session_id: int) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            select(OptimizationSession.service_provider_id).where(OptimizationSession.id == session_id)
        )


def store_queues(engine: Engine, inputs: MonthInputs, run: MonthRun) -> dict[tuple[int, str], int]:
    """Queues of every legacy candidate and of each group's exact run (or unchanged, if skipped)."""
    plan_ids = _plan_ids(engine, _provider_id(engine, inputs.session_id))
    codes = inputs.month.problem.plans.codes
    best = {w.group: w for w in run.legacy.winners}
    shares = run.after.device_cents
    exact_cents = np.bincount(inputs.plan.group_of_device, weights=shares, minlength=len(inputs.plan.groups))
    queues: dict[tuple[int, str], int] = {}
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for group in inputs.plan.groups:
            method = UNCHANGED if group.index in inputs.plan.skipped else "exact"
            queues[group.index, method] = connection.execute(
                insert(OptimizationQueue).values(
                    comm_group_id=inputs.group_ids[group.index],
                    method=method,
                    status="done",
                    total_cost=cents_to_decimal(int(np.rint(exact_cents[group.index]))),
                    started_at=now,
                    finished_at=now,
                )
            ).inserted_primary_key[0]
        sequence_rows = []
        for candidate in run.legacy.candidates:
            queue_id = connection.execute(
                insert(OptimizationQueue).values(
                    comm_group_id=inputs.group_ids[candidate.group],
                    method="legacy",
                    strategy=candidate.strategy,
                    status="done",
                    total_cost=cents_to_decimal(candidate.cents),
                    started_at=now,
                    finished_at=now,
                )
            ).inserted_primary_key[0]
            sequence_rows += [
                {"queue_id": queue_id, "sequence_order": order, "carrier_rate_plan_id": plan_ids[codes[p]]}
                for order, p in enumerate(candidate.sequence)
            ]
            if best.get(candidate.group) is candidate:
                queues[candidate.group, "legacy"] = queue_id
        if sequence_rows:
            connection.execute(insert(OptimizationQueueRatePlan), sequence_rows)
    return queues


@no_cyclic_gc()
def store_device_results(engine: Engine, outcome: MonthOutcome) -> int:
    """The winning method's device and pool results, each device under its group's queue (a group
    not optimized: its unchanged queue). The other method's queues keep their totals; its device
    rows were written and deleted again before (a million devices: a million rows for nothing)."""
    inputs, run = outcome.inputs, outcome.run
    month, plan = inputs.month, inputs.plan
    plan_ids = _plan_ids(engine, _provider_id(engine, inputs.session_id))
    queue_of = np.array(
        [
            outcome.queues[g, UNCHANGED] if g in plan.skipped else outcome.queues.get((g, run.winner), 0)
            for g in plan.group_of_device
        ]
    )
    # the account's pools hang on one queue of the method, or with no group optimized, on an
    # unchanged group's queue
    pool_queue = next((q for (_, m), q in outcome.queues.items() if m == run.winner), None)
    if pool_queue is None:
        pool_queue = next((q for (_, m), q in outcome.queues.items() if m == UNCHANGED), None)
    rows = np.flatnonzero(queue_of > 0)
    store_results(
        engine,
        month.problem.subset(rows),
        month.device_ids[rows],
        plan_ids,
        queue_of[rows],
        month.ctd_mb[rows],
        month.projected_mb[rows],
        _shares(run.before, rows),
        _shares(run.after, rows),
        run.chosen_assignment[rows],
        pool_queue or 0,
        run.after.pools if pool_queue is not None else [],
    )
    return len(rows)


def _shares(breakdown, rows: np.ndarray):
    if breakdown is None:
        return None
    return breakdown.device_cents[rows]


@dataclass
class Totals:
    provider_key: str
    provider_name: str
    billing_month: str
    session_guid: str
    instance_id: int
    winner: str
    cost_before: Decimal | None
    cost_after: Decimal
    cost_after_to_date: Decimal
    lower_bound: Decimal
    devices: int
    devices_changed: int
    per_plan: list[PlanStatistics]
    session_id: int = 0
    customer: str | None = None
    unpriced_plans: tuple[str, ...] = ()  # the carrier lists them; no price book prices them yet
    mail_to: str | None = None  # the account's own recipients (else the deployment's)
    currency: str = "USD"
    time_zone: str = "UTC"
    closes_at: datetime | None = None  # the billing period's end (UTC)
    auto_update: bool = False  # the account pushes winning plans itself (Go / No Go)
    rate_limit_per_second: int = 5

    @property
    def gap(self) -> float:
        """How far the cost after may be above the optimum (0.0: proven optimal), same basis."""
        if self.cost_after <= 0:
            return 0.0
        return max(0.0, float((self.cost_after - self.lower_bound) / self.cost_after))

    @property
    def closes_local(self) -> str:
        """The billing close in the account's own zone, as the report and mails say it."""
        if self.closes_at is None:
            return "-"
        return f"{self.closes_at.astimezone(ZoneInfo(self.time_zone)):%Y-%m-%d %H:%M} {self.time_zone}"

    def next_step(self, now: datetime) -> automation.NextStep:
        """What happens to the recommendations after this report (the rule: `automation.next_step`)."""
        return automation.next_step(
            now,
            self.closes_at or now,
            self.devices_changed,
            self.rate_limit_per_second,
            self.auto_update,
        )

    @property
    def title(self) -> str:
        scope = f", customer {self.customer}" if self.customer else ""
        return f"{self.provider_name}{scope}, billing month {self.billing_month}"

    @property
    def savings(self) -> Decimal | None:
        return None if self.cost_before is None else self.cost_before - self.cost_after

    @property
    def savings_percent(self) -> float | None:
        if self.cost_before is None or self.cost_before == 0:
            return None
        return float(self.savings / self.cost_before * 100)

    def savings_text(self) -> str:
        if self.savings is None:
            return "unknown (some devices have no current plan)"
        return f"{self.savings} ({self.savings_percent:.2f}%)"

    def summary_lines(self, now: datetime) -> list[Line]:
        """The report's summary, first the figures finance acts on, then how they were found."""
        step = self.next_step(now)
        percent = None if self.savings_percent is None else self.savings_percent / 100
        return [
            Line("Service provider", self.provider_name),
            Line("Customer", self.customer or "all (account pools)"),
            Line("Billing month", self.billing_month),
            Line("Billing period closes", self.closes_local),
            Line("Currency", self.currency),
            Line("Cost before (current plans, projected usage)", self.cost_before, MONEY),
            Line("Cost after (recommended plans, projected usage)", self.cost_after, MONEY),
            Line("Savings", self.savings, MONEY),
            Line("Savings %", percent, PERCENT),
            Line("Devices", self.devices),
            Line("Devices changing plan", self.devices_changed),
            Line("Next step", step.decision),
            Line("What happens next", step.text),
            Line("Lower bound on the cost after (same basis)", self.lower_bound, MONEY),
            Line("Gap to the lower bound", self.gap, PERCENT),
            Line("Cost after on usage to date", self.cost_after_to_date, MONEY),
            Line("Method", self.winner),
            Line(
                "Unpriced rate plans (never recommended until priced)",
                ", ".join(self.unpriced_plans) or "none",
            ),
        ]


@no_cyclic_gc()
def mark_winners(engine: Engine, outcome: MonthOutcome) -> Totals:
    """Mark each group's winning queue and total the session (only the winner's results were
    stored: `store_device_results`)."""
    inputs, run = outcome.inputs, outcome.run
    winners = {
        queue_id
        for (group, method), queue_id in outcome.queues.items()
        if method == run.winner or method == UNCHANGED
    }
    with engine.begin() as connection:
        connection.execute(
            update(OptimizationQueue).where(OptimizationQueue.id.in_(winners)).values(is_winner=True)
        )
        connection.execute(
            update(OptimizationInstance)
            .where(OptimizationInstance.id == inputs.instance_id)
            .values(
                status="done",
                cost_before=run.before.total if run.before is not None else None,
                cost_after=run.after.total,
                lower_bound=cents_to_decimal(run.lower_bound_cents),
                finished_at=datetime.now(UTC),
            )
        )
        guid, provider_id = connection.execute(
            select(OptimizationSession.session_guid, OptimizationSession.service_provider_id).where(
                OptimizationSession.id == inputs.session_id
            )
        ).one()
    with Session(engine) as session:
        provider = session.get_one(ServiceProvider, provider_id)
        period = period_for_month(
            inputs.billing_month,
            provider.billing_cycle_end_day,
            provider.billing_cycle_end_hour,
            provider.time_zone,
        )
        name, mail_to = provider.name, provider.mail_to
        account = {
            "currency": provider.currency,
            "time_zone": provider.time_zone,
            "closes_at": period.ends_at,
            "auto_update": provider.auto_update_rate_plans,
            "rate_limit_per_second": provider.rate_limit_per_second,
        }
    problem = inputs.month.problem
    current = problem.devices.current
    chosen = run.chosen_assignment
    per_plan: dict[str, list] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for i in range(len(problem.devices)):
        if current[i] >= 0 and run.before is not None:
            entry = per_plan[problem.plans.codes[current[i]]]
            entry[0] += 1
            entry[2] += run.before.device_cents[i]
        entry = per_plan[problem.plans.codes[chosen[i]]]
        entry[1] += 1
        entry[3] += run.after.device_cents[i]
    stats = [
        PlanStatistics(code, b, a, cents_to_decimal(round(cb)), cents_to_decimal(round(ca)))
        for code, (b, a, cb, ca) in sorted(per_plan.items())
    ]
    return Totals(
        provider_key=provider_key(name),
        provider_name=name,
        mail_to=mail_to,
        billing_month=inputs.billing_month,
        session_guid=guid,
        instance_id=inputs.instance_id,
        winner=run.winner if len(inputs.plan.skipped) < len(inputs.plan.groups) else NOTHING_TO_OPTIMIZE,
        cost_before=run.before.total if run.before is not None else None,
        cost_after=run.after.total,
        cost_after_to_date=run.after_to_date.total,
        lower_bound=cents_to_decimal(run.lower_bound_cents),
        devices=len(problem.devices),
        devices_changed=int((chosen != current).sum()),
        per_plan=stats,
        session_id=inputs.session_id,
        customer=inputs.customer,
        unpriced_plans=tuple(inputs.month.unpriced_plans),
        **account,
    )


def customer_notified(engine: Engine, totals: Totals) -> None:
    """A customer optimization's processing row: delivered."""
    if totals.customer is None:
        return
    with engine.begin() as connection:
        connection.execute(
            update(OptimizationCustomerProcessing)
            .where(OptimizationCustomerProcessing.session_id == totals.session_id)
            .values(status="delivered", notified_at=datetime.now(UTC))
        )


def winning_queues(*where: ColumnElement[bool]) -> Select:
    """The ids of the winning queues of the optimization instances `where` picks (a subquery for
    `queue_id.in_`: the results the winners hold)."""
    return (
        select(OptimizationQueue.id)
        .join(OptimizationCommGroup, OptimizationCommGroup.id == OptimizationQueue.comm_group_id)
        .join(OptimizationInstance, OptimizationInstance.id == OptimizationCommGroup.instance_id)
        .where(OptimizationQueue.is_winner, *where)
    )


REPORT_BATCH = 200_000  # result rows fetched at a time into the report's frame


def report_rows(engine: Engine, totals: Totals) -> tuple[pl.DataFrame, list[PoolRow]]:
    """The winning results of the session's instance, as the workbook shows them: the devices as
    a frame (`reports.assignments.SCHEMA`, by ICCID), the pools as rows.

    Amounts travel as text and become the frame's decimals at the columns' own scale: exact on
    PostgreSQL, and on SQLite as exact as its stored REAL (no float arithmetic on the way)."""
    current, recommended = aliased(CarrierRatePlan), aliased(CarrierRatePlan)
    winning = winning_queues(OptimizationInstance.id == totals.instance_id)
    frames = [pl.DataFrame(schema=assignment_rows.SCHEMA)]
    with engine.connect() as connection:
        for table in (OptimizationDeviceResult, OptimizationMobilityDeviceResult):
            result = connection.execution_options(yield_per=REPORT_BATCH).execute(
                select(
                    Device.iccid,
                    Device.msisdn,
                    CommunicationPlan.name,
                    current.plan_code,
                    recommended.plan_code,
                    cast(table.usage_mb, String),
                    cast(table.projected_usage_mb, String),
                    cast(table.current_cost, String),
                    cast(table.recommended_cost, String),
                )
                .join(Device, Device.id == table.device_id)
                .join(CommunicationPlan, CommunicationPlan.id == Device.communication_plan_id)
                .outerjoin(current, current.id == table.current_rate_plan_id)
                .join(recommended, recommended.id == table.recommended_rate_plan_id)
                .where(table.queue_id.in_(winning))
            )
            frames += [
                pl.DataFrame(batch, schema=list(assignment_rows.SCHEMA), orient="row").cast(
                    assignment_rows.SCHEMA  # type: ignore[arg-type]
                )
                for batch in result.partitions()
            ]
        pools = [
            PoolRow(key or "shared", plan, devices, allowance, usage, overage, cost)
            for key, plan, devices, allowance, usage, overage, cost in connection.execute(
                select(
                    OptimizationSharedPoolResult.pool_key,
                    CarrierRatePlan.plan_code,
                    OptimizationSharedPoolResult.device_count,
                    OptimizationSharedPoolResult.allowance_mb,
                    OptimizationSharedPoolResult.usage_mb,
                    OptimizationSharedPoolResult.overage_mb,
                    OptimizationSharedPoolResult.cost,
                )
                .join(
                    CarrierRatePlan, CarrierRatePlan.id == OptimizationSharedPoolResult.carrier_rate_plan_id
                )
                .where(OptimizationSharedPoolResult.queue_id.in_(winning))
                .order_by(CarrierRatePlan.plan_code)
            )
        ]
    return pl.concat(frames).sort("iccid"), pools


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def record_report(engine: Engine, totals: Totals, path: Path, digest: str) -> None:
    """The workbook written for the session's instance: where it is, its size and checksum."""
    with engine.begin() as connection:
        connection.execute(
            insert(OptimizationResultFile).values(
                instance_id=totals.instance_id,
                file_name=path.name,
                path=str(path),
                content_type=XLSX,
                size_bytes=path.stat().st_size,
                sha256=digest,
            )
        )
