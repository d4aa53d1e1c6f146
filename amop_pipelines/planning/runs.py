"""One optimization of a provider's month in memory: its groups, its independent parts (each
optimized by both methods, anywhere), and the parts assembled with costs and stats.

The assets in `defs/optimization/assets.py` run the parts as steps and store what this returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from amop_pipelines.optimization.cost import CostBreakdown, assignment_cost
from amop_pipelines.optimization.exact import ExactResult, KeyReport, combine_keys, exact_optimize
from amop_pipelines.optimization.groups import CommGroup, comm_groups, independent_sets
from amop_pipelines.optimization.legacy import Candidate, LegacyResult, legacy_optimize
from amop_pipelines.optimization.problem import Problem
from amop_pipelines.planning.inputs import LoadedMonth


@dataclass
class GroupPlan:
    groups: list[CommGroup]
    group_of_device: np.ndarray
    skipped: dict[int, str]  # group index -> why it is not optimized
    optimized_rows: np.ndarray  # devices of groups that are optimized


def plan_groups(month: LoadedMonth) -> GroupPlan:
    """Comm-plan groups; a group allowing more plans than its kind's limit is not optimized."""
    groups, group_of = comm_groups(month.problem)
    skipped = {
        g.index: f"{len(g.plans)} rate plans, more than the {g.plan_limit} a {g.kind} group may have"
        for g in groups
        if g.over_plan_limit
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
    # A lower bound on `after`'s basis (the month, skipped groups on their current plans): `after`
    # less the optimized devices' gap to their proven bound. `exact.lower_bound_cents` bounds the
    # optimized devices alone, which beside the month's cost would read as a false shortfall.
    lower_bound_cents: int = 0

    @property
    def gap(self) -> float:
        """How far `after` may be above the optimum, as a share of it (0.0: proven optimal)."""
        if self.after.total_cents <= 0:
            return 0.0
        return max(0.0, (self.after.total_cents - self.lower_bound_cents) / self.after.total_cents)

    @property
    def chosen_assignment(self) -> np.ndarray:
        """The winning method's plan per device: what the report shows and Go pushes."""
        return self.exact_assignment if self.winner == "exact" else self.legacy_assignment


@dataclass
class Part:
    """Independent sets of devices (see `independent_sets`) that one step optimizes: parts solved
    apart, on other processes or machines, give exactly what one pass over the month gives."""

    index: int
    sets: list[np.ndarray]  # each set's rows, as positions in `GroupPlan.optimized_rows`
    problem: Problem  # the part's devices (all its sets, in order); key and group indices kept

    @property
    def devices(self) -> int:
        return sum(len(rows) for rows in self.sets)


@dataclass
class PartResult:
    rows: np.ndarray  # positions in `GroupPlan.optimized_rows`
    exact_assignment: np.ndarray
    legacy_assignment: np.ndarray
    reports: list[KeyReport]
    winners: list[Candidate]
    candidates: list[Candidate]
    seconds: float


def split_parts(month: LoadedMonth, plan: GroupPlan, parts: int) -> list[Part]:
    """The optimized devices' independent sets spread over at most `parts` parts of about equal
    device counts (largest set first, into the lightest part). Always at least one part."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    sub = month.problem.subset(plan.optimized_rows)
    sets = independent_sets(sub, plan.groups, plan.group_of_device[plan.optimized_rows])
    bins: list[list[int]] = [[] for _ in range(max(1, min(parts, len(sets))))]
    loads = [0] * len(bins)
    for index in sorted(range(len(sets)), key=lambda i: (-len(sets[i]), i)):
        lightest = loads.index(min(loads))
        bins[lightest].append(index)
        loads[lightest] += len(sets[index])
    result = []
    for number, members in enumerate(bins):
        chosen = [sets[i] for i in sorted(members)]
        rows = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        result.append(Part(number, chosen, month.problem.subset(plan.optimized_rows[rows])))
    return result


def optimize_part(part: Part, legacy_sequences: int, milp_seconds: float | None = None) -> PartResult:
    """Both methods on each of the part's sets, alone (`milp_seconds`: see `exact_optimize`)."""
    started = time.perf_counter()
    exact_rows, legacy_rows, reports, winners, candidates = [], [], [], [], []
    offset = 0
    for rows in part.sets:
        problem = part.problem.subset(np.arange(offset, offset + len(rows)))
        offset += len(rows)
        exact = exact_optimize(problem, milp_seconds=milp_seconds)
        legacy = legacy_optimize(problem, max_sequences=legacy_sequences, record_candidates=True)
        exact_rows.append(exact.assignment)
        legacy_rows.append(legacy.assignment)
        reports += exact.keys
        winners += legacy.winners
        candidates += legacy.candidates
    empty = np.zeros(0, dtype=np.int64)
    return PartResult(
        np.concatenate(part.sets) if part.sets else empty,
        np.concatenate(exact_rows) if exact_rows else empty,
        np.concatenate(legacy_rows) if legacy_rows else empty,
        reports,
        winners,
        candidates,
        time.perf_counter() - started,
    )


def assemble(
    month: LoadedMonth, month_to_date: LoadedMonth, plan: GroupPlan, results: list[PartResult]
) -> MonthRun:
    """The parts' results as one month, whatever the number of parts: queues in the legacy
    method's order (pool key, then its groups largest first), skipped groups on their current
    plans, both methods priced, the cheaper one the winner."""
    problem = month.problem
    current = problem.devices.current.astype(np.int64)
    size = len(plan.optimized_rows)
    exact_rows, legacy_rows = np.full(size, -1, dtype=np.int64), np.full(size, -1, dtype=np.int64)
    reports, winners, candidates = [], [], []
    for part in results:
        exact_rows[part.rows] = part.exact_assignment
        legacy_rows[part.rows] = part.legacy_assignment
        reports += part.reports
        winners += part.winners
        candidates += part.candidates
    if (exact_rows < 0).any() or (legacy_rows < 0).any():
        raise ValueError("the parts' results do not cover every optimized device")
    keys = problem.devices.pool_key[plan.optimized_rows]
    groups = plan.group_of_device[plan.optimized_rows]
    sizes = np.bincount(
        keys * len(plan.groups) + groups, minlength=len(problem.devices.keys) * len(plan.groups)
    )

    def legacy_order(c: Candidate) -> tuple[int, int, int]:
        return c.pool_key, -int(sizes[c.pool_key * len(plan.groups) + c.group]), c.group

    key_index = {label: k for k, label in enumerate(problem.devices.keys)}
    optimized = problem.subset(plan.optimized_rows)
    exact = combine_keys(
        optimized,
        exact_rows,
        sorted(reports, key=lambda r: key_index[r.pool_key]),
        sum(part.seconds for part in results),
    )
    legacy = LegacyResult(
        legacy_rows, sorted(winners, key=legacy_order), sorted(candidates, key=legacy_order)
    )
    fallback = np.where(current >= 0, current, problem.devices.allowed().argmax(axis=1))
    exact_full, legacy_full = fallback.copy(), fallback.copy()
    exact_full[plan.optimized_rows] = exact.assignment
    legacy_full[plan.optimized_rows] = legacy.assignment
    exact_cost = assignment_cost(problem, exact_full)
    legacy_cost = assignment_cost(problem, legacy_full)
    winner = "exact" if exact_cost.total_cents <= legacy_cost.total_cents else "legacy"
    chosen = exact_full if winner == "exact" else legacy_full
    before = assignment_cost(problem, current) if (current >= 0).all() else None
    after = exact_cost if winner == "exact" else legacy_cost
    optimized_after = (
        exact.total_cents if winner == "exact" else assignment_cost(optimized, legacy.assignment).total_cents
    )
    return MonthRun(
        exact=exact,
        legacy=legacy,
        exact_assignment=exact_full,
        legacy_assignment=legacy_full,
        before=before,
        after=after,
        after_to_date=assignment_cost(month_to_date.problem, chosen),
        winner=winner,
        lower_bound_cents=after.total_cents - max(0, optimized_after - exact.lower_bound_cents),
    )
