"""The seeds' legacy method, kept for parity and comparison (`--method legacy`): the yardstick of
"savings against what the seeds' system would have done", so it follows the seeds as written.

For each pool key, and within it each comm-plan group, the group is optimized alone (its pools
hold its own devices only, as the seeds price each group's queues). Candidates compete on the
group's own cost: the baseline queue (every device on the group's plan whose prorated allowance
is closest to its usage) and every rate plan sequence under the seeds' strategies: no grouping
or grouped by communication plan, each largest-to-smallest or smallest-to-largest by usage. A
strategy fills the sequence's plans greedily: devices go to the current plan until the next
device would push its pool into overage (for a non-pooled plan: would exceed its own
allowance), then the next plan takes over; the last plan takes the rest. Grouped strategies
restart the sequence for each communication plan. The cheapest candidate of the group wins.
Customer pools and Mobility groups (their optimization group's plans) run the no-grouping
strategies only, as the seeds do.

Sequences: all permutations of the group's plans when there are at most `max_sequences` of them.
Past that, the best of every order is found without listing them (`best_sequence`: each plan
appears once in an order and its pool holds its own devices, so the cost of the rest of an order
depends only on which plans are left and where each block has got to; a search over those is
exact). The search gives up past SEARCH_STATES states (grouped strategies, with a block per
communication plan, have more positions to tell apart); the strategy then tries `max_sequences`
distinct permutations drawn by a generator seeded with 0 and the group's plan indices, so every
run tries the same ones.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from amop_pipelines.optimization.cost import assignment_cost, pool_cents
from amop_pipelines.optimization.groups import comm_groups
from amop_pipelines.optimization.problem import Problem

STRATEGIES = ("no_grouping_desc", "no_grouping_asc", "by_comm_plan_desc", "by_comm_plan_asc")
BASELINE = "baseline"  # each device on the plan whose allowance is closest to its usage
MAX_SEQUENCES = 2000


def rate_plan_sequences(plans: tuple[int, ...], max_sequences: int = MAX_SEQUENCES) -> list[tuple[int, ...]]:
    if math.factorial(len(plans)) <= max_sequences:
        return list(itertools.permutations(plans))
    rng = np.random.default_rng([0, *plans])
    chosen: dict[tuple[int, ...], None] = {}
    while len(chosen) < max_sequences:
        chosen[tuple(int(p) for p in rng.permutation(plans))] = None
    return list(chosen)


@dataclass(frozen=True)
class Candidate:
    """One legacy queue: a rate plan sequence under a strategy, for one group and pool key."""

    group: int
    pool_key: int
    strategy: str
    sequence: tuple[int, ...]
    cents: int  # the group's own cost under this candidate, its pools holding its devices alone


@dataclass
class LegacyResult:
    assignment: np.ndarray
    winners: list[Candidate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # filled when asked to record them


Sums = dict[int, tuple[int, int, int]]  # pooled plan -> (S, U, M) of one pool key


def baseline_plans(problem: Problem, rows: np.ndarray, plans: tuple[int, ...]) -> np.ndarray:
    """The baseline queue: each device on the plan (of `plans`) whose prorated allowance is closest
    to its usage; a tie goes to the plan listed first."""
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    choices = np.asarray(plans)
    distance = np.abs(d.usage[rows][:, None] * D - d.days[rows][:, None] * p.allowance[choices][None, :])
    return choices[np.argmin(distance, axis=1)]


@dataclass(frozen=True)
class _Prepared:
    """One strategy's device order and the prefix sums every sequence reuses."""

    order: np.ndarray
    bounds: list[int]  # block boundaries (one block, or one per communication plan)
    pre_days: np.ndarray
    pre_usage: np.ndarray
    pre_sms: np.ndarray
    pre_net: dict[int, np.ndarray]  # pooled plan -> prefix of usage*D - days*allowance
    pre_cost: dict[int, np.ndarray]  # non-pooled plan -> prefix of per-device cents
    misfits: dict[int, np.ndarray]  # non-pooled plan -> positions of devices over its allowance


def _blocks(problem: Problem, rows: np.ndarray, strategy: str) -> list[np.ndarray]:
    d = problem.devices
    key = -d.usage[rows] if strategy.endswith("_desc") else d.usage[rows]
    if strategy.startswith("no_grouping"):
        return [rows[np.argsort(key, kind="stable")]]
    comm = d.comm_plan[rows]
    return [
        rows[members[np.argsort(key[members], kind="stable")]]
        for members in (np.flatnonzero(comm == c) for c in np.unique(comm))
    ]


def _prepare(problem: Problem, plans: tuple[int, ...], blocks: list[np.ndarray]) -> _Prepared:
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    order = np.concatenate(blocks)
    days, usage, sms = d.days[order], d.usage[order], d.sms[order]

    def prefix(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(1, dtype=values.dtype), np.cumsum(values)])

    pre_net, pre_cost, misfits = {}, {}, {}
    for plan in plans:
        net = usage * D - days * p.allowance[plan]
        if p.pooled[plan]:
            pre_net[plan] = prefix(net.astype(np.float64))
        else:
            blocks_used = -(-np.maximum(0, net) // (p.unit[plan] * D))
            numerator = days * p.charge[plan] + D * (blocks_used * p.rate[plan] + sms * p.sms[plan])
            pre_cost[plan] = prefix((numerator + 50 * D) // (100 * D))
            misfits[plan] = np.flatnonzero(net > 0)
    return _Prepared(
        order=order,
        bounds=[0, *np.cumsum([len(b) for b in blocks]).tolist()],
        pre_days=prefix(days),
        pre_usage=prefix(usage),
        pre_sms=prefix(sms),
        pre_net=pre_net,
        pre_cost=pre_cost,
        misfits=misfits,
    )


def _segment_end(problem: Problem, prep: _Prepared, plan: int, pos: int, stop: int, sums: Sums) -> int:
    """Where the greedy fill of `plan` from `pos` stops: at the first device that would not fit."""
    p, D = problem.plans, problem.cycle_days
    if p.pooled[plan]:
        S, U, _ = sums.get(plan, (0, 0, 0))
        running = (
            prep.pre_net[plan][pos + 1 : stop + 1]
            - prep.pre_net[plan][pos]
            + (U * D - S * int(p.allowance[plan]))
        )
        first_over = int(np.argmax(running > 0))
        return pos + first_over if running[first_over] > 0 else stop
    misfits = prep.misfits[plan]
    k = int(np.searchsorted(misfits, pos))
    return int(misfits[k]) if k < len(misfits) and misfits[k] < stop else stop


def _pool_cents(problem: Problem, plan: int, sums: tuple[int, int, int]) -> int:
    p = problem.plans
    return pool_cents(
        *sums,
        int(p.charge[plan]),
        int(p.allowance[plan]),
        int(p.rate[plan]),
        int(p.unit[plan]),
        int(p.sms[plan]),
        problem.cycle_days,
    )


def _fill(
    problem: Problem, prep: _Prepared, sequence: tuple[int, ...], before: Sums
) -> tuple[int, Sums, list[tuple[int, int, int]]]:
    """One candidate: its added cents, the pools after it, and its (plan, start, end) segments."""
    pooled = problem.plans.pooled
    sums = dict(before)
    segments: list[tuple[int, int, int]] = []
    cents = 0
    for block in range(len(prep.bounds) - 1):
        pos, stop = prep.bounds[block], prep.bounds[block + 1]
        for step, plan in enumerate(sequence):
            if pos >= stop:
                break
            last = step == len(sequence) - 1
            end = stop if last else _segment_end(problem, prep, plan, pos, stop, sums)
            if end > pos:
                segments.append((plan, pos, end))
                if pooled[plan]:
                    S, U, M = sums.get(plan, (0, 0, 0))
                    sums[plan] = (
                        S + int(prep.pre_days[end] - prep.pre_days[pos]),
                        U + int(prep.pre_usage[end] - prep.pre_usage[pos]),
                        M + int(prep.pre_sms[end] - prep.pre_sms[pos]),
                    )
                else:
                    cents += int(prep.pre_cost[plan][end] - prep.pre_cost[plan][pos])
            pos = end
    for plan, after in sums.items():
        if after != before.get(plan):
            cents += _pool_cents(problem, plan, after) - _pool_cents(
                problem, plan, before.get(plan, (0, 0, 0))
            )
    return cents, sums, segments


SEARCH_STATES = 200_000  # (plans used, positions) a search may visit before it gives up


class _TooManyStates(Exception):
    """The search's budget is spent; the caller samples orders instead."""


def best_sequence(
    problem: Problem, prep: _Prepared, plans: tuple[int, ...], max_states: int = SEARCH_STATES
) -> tuple[int, tuple[int, ...]] | None:
    """The cheapest of all orders of `plans` for a strategy, without listing them, or None when
    that takes more than `max_states` states.

    Each plan appears once in an order and its pool holds its own devices only, so once the first
    k plans of an order are placed, their segments in every block, their costs and where each
    block has got to are fixed, and the rest of the order's cost depends only on which plans are
    left and those positions: a search over (plans used, positions) is exact. With one block (no
    grouping) the positions are one number and the search always ends quickly; with a block per
    communication plan there are more positions to tell apart, hence the budget. Ties go to the
    order listed first (as enumeration finds it); plans left when the devices run out follow in
    their listed order."""
    starts, stops = tuple(prep.bounds[:-1]), prep.bounds[1:]
    pooled = problem.plans.pooled
    segments: dict[tuple[int, tuple[int, ...], bool], tuple[tuple[int, ...], int]] = {}
    memo: dict[tuple[tuple[int, ...], int], tuple[int, tuple[int, ...]]] = {}

    def segment(index: int, positions: tuple[int, ...], last: bool) -> tuple[tuple[int, ...], int]:
        """Where plan `plans[index]` stops in each block, filled from `positions` (its pool carried
        from block to block; the last plan takes the rest), and what it costs."""
        found = segments.get((index, positions, last))
        if found is None:
            plan, ends, cents, total, took = plans[index], [], 0, (0, 0, 0), False
            for pos, stop in zip(positions, stops, strict=True):
                end = pos
                if pos < stop:
                    end = stop if last else _segment_end(problem, prep, plan, pos, stop, {plan: total})
                if end > pos:
                    took = True
                    if pooled[plan]:
                        total = (
                            total[0] + int(prep.pre_days[end] - prep.pre_days[pos]),
                            total[1] + int(prep.pre_usage[end] - prep.pre_usage[pos]),
                            total[2] + int(prep.pre_sms[end] - prep.pre_sms[pos]),
                        )
                    else:
                        cents += int(prep.pre_cost[plan][end] - prep.pre_cost[plan][pos])
                ends.append(end)
            if took and pooled[plan]:
                cents = _pool_cents(problem, plan, total)
            found = segments[index, positions, last] = (tuple(ends), cents)
        return found

    def best(positions: tuple[int, ...], used: int) -> tuple[int, tuple[int, ...]]:
        if all(pos >= stop for pos, stop in zip(positions, stops, strict=True)):
            return 0, ()
        found = memo.get((positions, used))
        if found is None:
            if len(memo) >= max_states:
                raise _TooManyStates
            left = [i for i in range(len(plans)) if not used >> i & 1]
            for index in left:
                ends, cents = segment(index, positions, len(left) == 1)
                rest, order = best(ends, used | 1 << index)
                if found is None or cents + rest < found[0]:
                    found = (cents + rest, (index, *order))
            memo[positions, used] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    try:
        cents, order = best(starts, 0)
    except _TooManyStates:
        return None
    chosen = set(order)
    full = (*order, *(i for i in range(len(plans)) if i not in chosen))
    return cents, tuple(plans[i] for i in full)


def legacy_optimize(
    problem: Problem,
    max_sequences: int = MAX_SEQUENCES,
    record_candidates: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LegacyResult:
    """Assign every device with the legacy method; winners name each group's queue."""
    d = problem.devices
    groups, group_of = comm_groups(problem)
    assignment = np.full(len(d), -1, dtype=np.int64)
    result = LegacyResult(assignment)
    sequences = {g.index: rate_plan_sequences(g.plans, max_sequences) for g in groups}
    work = []
    for key in range(len(d.keys)):
        in_key = d.pool_key == key
        sizes = [(int((in_key & (group_of == g.index)).sum()), g) for g in groups]
        work += [(key, g) for size, g in sorted(sizes, key=lambda x: (-x[0], x[1].index)) if size]
    for done, (key, group) in enumerate(work, start=1):
        rows = np.flatnonzero((d.pool_key == key) & (group_of == group.index))
        baseline = baseline_plans(problem, rows, group.plans)
        winner = Candidate(
            group.index, key, BASELINE, (), assignment_cost(problem.subset(rows), baseline).total_cents
        )
        if record_candidates:
            result.candidates.append(winner)
        best: tuple[list[tuple[int, int, int]], np.ndarray] | None = None
        grouping = not group.is_mobility and d.keys[key] == ""  # the account's shared pool only
        listed = math.factorial(len(group.plans)) <= max_sequences
        searched: dict[bytes, tuple[int, tuple[int, ...]] | None] = {}
        for strategy in STRATEGIES if grouping else STRATEGIES[:2]:
            prep = _prepare(problem, group.plans, _blocks(problem, rows, strategy))
            # a group of one communication plan is one block either way: the same devices in the
            # same order as without grouping, so the same best order (searched once)
            same = np.asarray(prep.bounds).tobytes() + prep.order.tobytes()
            if not listed and same not in searched:
                searched[same] = best_sequence(problem, prep, group.plans)
            found = None if listed else searched[same]
            for sequence in [found[1]] if found else sequences[group.index]:
                cents, _, segments = _fill(problem, prep, sequence, {})
                candidate = Candidate(group.index, key, strategy, sequence, cents)
                if record_candidates:
                    result.candidates.append(candidate)
                if cents < winner.cents:
                    winner, best = candidate, (segments, prep.order)
        if best is None:
            assignment[rows] = baseline
        else:
            segments, order = best
            for plan, start, end in segments:
                assignment[order[start:end]] = plan
        result.winners.append(winner)
        if progress:
            progress(done, len(work))
    return result
