"""One optimization of a provider's month, end to end in memory: both methods, costs, stats.

The assets in `defs/assets/optimization.py` store and show what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amop_pipelines.optimization.cost import CostBreakdown, assignment_cost
from amop_pipelines.optimization.exact import ExactResult, exact_optimize
from amop_pipelines.optimization.groups import MAX_PLANS_PER_GROUP, CommGroup, comm_groups
from amop_pipelines.optimization.legacy import LegacyResult, legacy_optimize
from amop_pipelines.planning.inputs import LoadedMonth


@dataclass
class GroupPlan:
    groups: list[CommGroup]
    group_of_device: np.ndarray
    skipped: dict[int, str]  # group index -> why it is not optimized
    optimized_rows: np.ndarray  # devices of groups that are optimized


def plan_groups(month: LoadedMonth) -> GroupPlan:
    """Comm-plan groups; an M2M group allowing more than 15 plans is not optimized."""
    groups, group_of = comm_groups(month.problem)
    skipped = {
        g.index: f"{len(g.plans)} rate plans, more than the {MAX_PLANS_PER_GROUP} an M2M group may have"
        for g in groups
        if g.over_plan_limit and not g.is_mobility
    }
    optimized = np.flatnonzero(~np.isin(group_of, list(skipped))) if skipped else np.arange(len(group_of))
    return GroupPlan(groups, group_of, skipped, optimized)


@dataclass
class MonthRun:
    exact: ExactResult
    legacy: LegacyResult
    exact_assignment: np.ndarray  # whole month: skipped groups keep their current plan
    legacy_assignment: np.ndarray
    before: CostBreakdown | None  # current plans on projected usage
    after: CostBreakdown  # the winner on projected usage
    after_to_date: CostBreakdown  # the winner on cycle-to-date usage
    winner: str  # "exact" | "legacy"


def run_month(
    month: LoadedMonth, month_to_date: LoadedMonth, plan: GroupPlan, legacy_sequences: int
) -> MonthRun:
    problem = month.problem
    current = problem.devices.current.astype(np.int64)
    sub = problem.subset(plan.optimized_rows)
    exact = exact_optimize(sub)
    legacy = legacy_optimize(sub, max_sequences=legacy_sequences, record_candidates=True)
    fallback = np.where(current >= 0, current, problem.devices.allowed().argmax(axis=1))
    exact_full, legacy_full = fallback.copy(), fallback.copy()
    exact_full[plan.optimized_rows] = exact.assignment
    legacy_full[plan.optimized_rows] = legacy.assignment
    exact_cost = assignment_cost(problem, exact_full)
    legacy_cost = assignment_cost(problem, legacy_full)
    winner = "exact" if exact_cost.total_cents <= legacy_cost.total_cents else "legacy"
    chosen = exact_full if winner == "exact" else legacy_full
    before = assignment_cost(problem, current) if (current >= 0).all() else None
    return MonthRun(
        exact=exact,
        legacy=legacy,
        exact_assignment=exact_full,
        legacy_assignment=legacy_full,
        before=before,
        after=exact_cost if winner == "exact" else legacy_cost,
        after_to_date=assignment_cost(month_to_date.problem, chosen),
        winner=winner,
    )
