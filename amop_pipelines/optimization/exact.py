"""The default method: a proven lower bound and an assignment within a stated gap of it.

The problem splits exactly by pool key. Within a key, a pool's cost depends only on its device
count, prorated allowance and usage sum, so each pooled plan's allowance constraint is relaxed
with a price per MB, lambda_p in [0, overage rate / overage unit] (Lagrangian relaxation):

    L(lambda) = sum_i min_p [ linear_ip + lambda_p * (usage_i - f_i * allowance_p) ]

(non-pooled plans enter with their exact per-device cost). For every lambda, L is a lower bound
on the cost of any assignment (continuous overage never exceeds the whole-block charge; the
0.5 cent that rounding can take off each pooled pool is subtracted). The prices come from the
duals of the LP relaxation solved by HiGHS over usage classes (one class per device for small
keys). The class LP's assignment, its devices re-decided where the prices leave the choice open
(sifting: one more LP over the tied and misplaced devices), and an exact local search of single
moves give the assignment.

Then each key small enough is solved as one MILP by HiGHS from that assignment (whole overage
blocks modelled; keys of at most 60 devices also model cent rounding and are optimal to the
cent), stopped on work done rather than on the clock, so that runs repeat.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csr_array, vstack

from amop_pipelines.optimization.cost import assignment_cost, device_pool_cents, pool_cents
from amop_pipelines.optimization.problem import Problem

MILP_DEVICES = 3000  # keys up to this many devices are also solved as one MILP, from the heuristic
EXACT_ROUNDING_DEVICES = 60  # keys up to this many devices model each pool's cent rounding too
LOCAL_SEARCH_DEVICES = 20_000  # closest calls of a key tried by single exact moves
SIFT_CENTS = 3.0  # plans within this of a device's best at the prices are reconsidered by sifting
CLASS_BINS = 400  # usage classes per option set in the pricing LP, at least
LP_VARIABLES = 60_000  # budget of the pricing LP: below it, classes are single devices
MILP_NODES = 20  # a key's MILP stops after its root and this many branch-and-bound nodes: repeatable
MILP_TIME_LIMIT = 60.0  # seconds: a safety net only (a run stopped by the clock is not repeatable)
MILP_REL_GAP = 1e-4  # a large key's MILP stops this close to its bound; a small one's within a cent
TIE_CENTS = 1e-6  # devices whose two best plans differ by less than this are tied


@dataclass
class KeyReport:
    pool_key: str
    devices: int
    method: str  # "milp" (optimal) or "lagrangian"
    lower_bound_cents: float
    cost_cents: int


@dataclass
class ExactResult:
    assignment: np.ndarray
    total_cents: int
    lower_bound_cents: int
    seconds: float
    keys: list[KeyReport] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """Relative gap of the cost found to the proven lower bound (0.0 is proven optimal)."""
        if self.total_cents <= 0:
            return 0.0
        return max(0.0, (self.total_cents - self.lower_bound_cents) / self.total_cents)


@dataclass
class _Key:
    """One pool key's sub-problem in float form (cents), columns = plans allowed to anyone."""

    rows: np.ndarray  # device rows of the whole problem
    plans: np.ndarray  # plan index per column
    allowed: np.ndarray  # bool (devices x columns)
    linear: np.ndarray  # float cents: prorated charge + SMS (pooled), exact own-pool cents (not pooled)
    net: np.ndarray  # float MB: usage - f * allowance for pooled columns, 0 otherwise
    pooled: np.ndarray  # bool per column
    price_cap: np.ndarray  # cents per MB: overage rate / unit, per column (0 when not pooled)


def _key_problem(problem: Problem, rows: np.ndarray) -> _Key:
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    allowed_all = d.option_sets[d.option_set[rows]]
    plans = np.flatnonzero(allowed_all.any(axis=0))
    allowed = allowed_all[:, plans]
    days = d.days[rows].astype(np.float64)[:, None]
    usage = d.usage[rows].astype(np.float64)[:, None] / 1e6
    sms = d.sms[rows].astype(np.float64)[:, None]
    pooled = p.pooled[plans]
    linear = (days * p.charge[plans] / D + sms * p.sms[plans]) / 100.0
    for column, plan in enumerate(plans):
        if not pooled[column]:
            linear[:, column] = device_pool_cents(problem.subset(rows), np.full(len(rows), plan))
    net = np.where(pooled, usage - days * p.allowance[plans] / 1e6 / D, 0.0)
    cap = np.where(pooled, p.rate[plans] / 100.0 / (p.unit[plans] / 1e6), 0.0)
    return _Key(rows, plans, allowed, linear, net, pooled, cap)


def _evaluate(key: _Key, prices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """L(prices), its supergradient (per column), and each device's argmin column."""
    costs = key.linear + key.net * prices
    costs = np.where(key.allowed, costs, np.inf)
    choice = costs.argmin(axis=1)
    value = float(costs[np.arange(len(choice)), choice].sum())
    chosen_net = key.net[np.arange(len(choice)), choice]
    gradient = np.bincount(choice, weights=chosen_net, minlength=len(key.plans))
    return value, gradient, choice


def _dual_value(key: _Key, prices: np.ndarray) -> float:
    """L(prices) exactly: every device on its cheapest plan at these prices."""
    return float(np.where(key.allowed, key.linear + key.net * prices, np.inf).min(axis=1).sum())


def _classes(problem: Problem, key: _Key) -> np.ndarray:
    """Devices of one option set and similar usage, in bins of equal count (a class id each)."""
    d = problem.devices
    option_set = d.option_set[key.rows]
    usage = d.usage[key.rows]
    classes = np.empty(len(key.rows), dtype=np.int64)
    next_class = 0
    sets = np.unique(option_set)
    # Small keys get one class per device (the exact LP); large ones share a variable budget.
    per_set = max(CLASS_BINS, LP_VARIABLES // max(1, len(sets) * len(key.plans)))
    for value in sets:
        members = np.flatnonzero(option_set == value)
        members = members[np.argsort(usage[members], kind="stable")]
        bins = min(len(members), per_set)
        for chunk in np.array_split(members, bins):
            classes[chunk] = next_class
            next_class += 1
    return classes


def _class_lp(problem: Problem, key: _Key) -> tuple[np.ndarray, np.ndarray | None]:
    """Near-optimal prices (the duals) and a balanced assignment (the primal) of the class LP.

    A class moves as one (its members' costs and net usages summed), which restricts the LP only
    mildly and keeps it small at a million devices. The prices are only a guide: the bound is
    always L(prices) evaluated on the real devices. A class split between plans gives its
    lowest-usage members to the first of them, in column order.
    """
    classes = _classes(problem, key)
    n_classes = int(classes.max()) + 1
    columns = np.flatnonzero(key.pooled)
    linear = np.zeros((n_classes, len(key.plans)))
    net = np.zeros((n_classes, len(key.plans)))
    np.add.at(linear, classes, np.where(key.allowed, key.linear, 0.0))
    np.add.at(net, classes, key.net)
    allowed = np.zeros((n_classes, len(key.plans)), dtype=bool)
    allowed[classes] = key.allowed
    class_of, column_of = np.nonzero(allowed)
    n_z = len(class_of)
    n_o = len(columns)
    cost = np.concatenate([linear[class_of, column_of], key.price_cap[columns]])
    a_eq = csr_array((np.ones(n_z), (class_of, np.arange(n_z))), shape=(n_classes, n_z + n_o))
    position = {int(c): k for k, c in enumerate(columns)}
    pooled_vars = np.flatnonzero(key.pooled[column_of])
    pool_row = np.array([position[int(c)] for c in column_of[pooled_vars]], dtype=np.int64)
    a_ub = csr_array(
        (
            np.concatenate([net[class_of[pooled_vars], column_of[pooled_vars]], -np.ones(n_o)]),
            (np.concatenate([pool_row, np.arange(n_o)]), np.concatenate([pooled_vars, n_z + np.arange(n_o)])),
        ),
        shape=(n_o, n_z + n_o),
    )
    solved = _lp(cost, a_ub, np.zeros(n_o), a_eq, np.ones(n_classes))
    prices = np.zeros(len(key.plans))
    if solved is None:
        return prices, None
    x, ub_duals = solved
    prices[columns] = np.clip(-ub_duals, 0.0, key.price_cap[columns])
    share = np.zeros((n_classes, len(key.plans)))
    share[class_of, column_of] = np.clip(x[:n_z], 0.0, 1.0)
    share /= share.sum(axis=1, keepdims=True)
    choice = np.empty(len(key.rows), dtype=np.int64)
    order = np.lexsort((problem.devices.usage[key.rows], classes))
    sorted_classes = classes[order]
    starts = np.searchsorted(sorted_classes, np.arange(n_classes))
    sizes = np.bincount(classes, minlength=n_classes)
    position = (np.arange(len(order)) - starts[sorted_classes] + 0.5) / sizes[sorted_classes]
    cumulative = np.cumsum(share, axis=1)[sorted_classes]
    picked = (position[:, None] > cumulative).sum(axis=1)
    choice[order] = np.minimum(picked, len(key.plans) - 1)
    # a rounding edge may land on a column the class does not allow: take its largest share instead
    bad = ~key.allowed[np.arange(len(choice)), choice]
    choice[bad] = share[classes[bad]].argmax(axis=1)
    return prices, choice


def _restricted_lp(key: _Key, free: np.ndarray, choice: np.ndarray, options: np.ndarray) -> np.ndarray | None:
    """The LP relaxation over the `free` devices' `options`, every other device fixed on `choice`.

    Free devices that are alike to the LP (the same options, costs and net usages: SIMs of one
    plan and usage) are one class whose variables count its devices, which is exact and smaller
    (a million-device key: 689,000 free devices in 412,000 classes). Each class then hands its
    devices to its plans by the counts, rounded down, the rest to the largest fractions (a basic
    solution splits at most one class per pool). Returns the new choice for every device, or None.
    """
    signature = np.concatenate([options, key.linear[free], key.net[free]], axis=1)
    _, first, class_of, sizes = np.unique(
        signature, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    class_of = class_of.ravel()
    n_classes = len(first)
    cls_var, column_of = np.nonzero(options[first])  # a variable per (class, option)
    n_x = len(cls_var)
    local = free[first][cls_var]  # the class's first device stands for it
    columns = np.flatnonzero(key.pooled)
    n_o = len(columns)
    position = np.full(len(key.plans), -1)
    position[columns] = np.arange(n_o)
    fixed = np.ones(len(key.rows), dtype=bool)
    fixed[free] = False
    fixed_rows = np.flatnonzero(fixed)
    fixed_net = np.zeros(len(key.plans))
    np.add.at(fixed_net, choice[fixed_rows], key.net[fixed_rows, choice[fixed_rows]])
    cost = np.concatenate([key.linear[local, column_of], key.price_cap[columns]])
    a_eq = csr_array((np.ones(n_x), (cls_var, np.arange(n_x))), shape=(n_classes, n_x + n_o))
    pooled_vars = np.flatnonzero(key.pooled[column_of])
    a_ub = csr_array(
        (
            np.concatenate([key.net[local[pooled_vars], column_of[pooled_vars]], -np.ones(n_o)]),
            (
                np.concatenate([position[column_of[pooled_vars]], np.arange(n_o)]),
                np.concatenate([pooled_vars, n_x + np.arange(n_o)]),
            ),
        ),
        shape=(n_o, n_x + n_o),
    )
    solved = _lp(cost, a_ub, -fixed_net[columns], a_eq, sizes.astype(np.float64))
    if solved is None:
        return None
    counts = np.clip(solved[0][:n_x], 0.0, None)
    whole = np.floor(counts + 1e-9).astype(np.int64)
    rest = sizes - np.bincount(cls_var, weights=whole, minlength=n_classes).astype(np.int64)
    by_fraction = np.lexsort((whole - counts, cls_var))  # per class, the largest fraction first
    rank = np.arange(n_x) - np.searchsorted(cls_var[by_fraction], cls_var[by_fraction])
    whole[by_fraction[rank < rest[cls_var[by_fraction]]]] += 1
    by_count = np.lexsort((-whole, cls_var))  # per class, its largest share first
    members = np.argsort(class_of, kind="stable")  # free devices, class by class
    new = choice.copy()
    new[free[members]] = np.repeat(column_of[by_count], whole[by_count])
    return new


def _lp(
    cost: np.ndarray, a_ub: csr_array, b_ub: np.ndarray, a_eq: csr_array, b_eq: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """min cost @ x, a_ub @ x <= b_ub, a_eq @ x == b_eq, x >= 0, by HiGHS's dual simplex: x and
    the duals of the a_ub rows, or None when not solved to optimality.

    HiGHS through highspy rather than SciPy's `linprog`, which hands every value back as Python
    lists (the sifting LP of a million devices has 1.4 million columns: half a gigabyte more)."""
    n_ub, n_vars = a_ub.shape[0], len(cost)
    matrix = vstack([a_ub, a_eq]).tocsc()  # the inequalities first, as linprog passes them
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_vars, matrix.shape[0]
    model.col_cost_ = cost
    model.col_lower_, model.col_upper_ = np.zeros(n_vars), np.full(n_vars, highspy.kHighsInf)
    model.row_lower_ = np.concatenate([np.full(n_ub, -highspy.kHighsInf), b_eq])
    model.row_upper_ = np.concatenate([b_ub, b_eq])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n_vars, matrix.shape[0]
    model.a_matrix_.start_, model.a_matrix_.index_ = matrix.indptr, matrix.indices
    model.a_matrix_.value_ = matrix.data
    del matrix
    _without_the_banner()
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("simplex_strategy", 1)  # dual
    solver.passModel(model)
    del model
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = solver.getSolution()
    return np.asarray(solution.col_value), np.asarray(solution.row_dual)[:n_ub]


class _Moves:
    """One key's assignment with exact pool bookkeeping, for moves whose cost is known exactly."""

    def __init__(self, problem: Problem, key: _Key, assignment: np.ndarray):
        p, d = problem.plans, problem.devices
        self.D = problem.cycle_days
        self.terms = [
            (int(p.charge[i]), int(p.allowance[i]), int(p.rate[i]), int(p.unit[i]), int(p.sms[i]))
            for i in range(len(p))
        ]
        self.key, self.assignment = key, assignment
        self.plans = key.plans.tolist()
        self.pooled = key.pooled.tolist()
        column_of = {plan: column for column, plan in enumerate(self.plans)}
        rows = key.rows
        self.vectors = list(
            zip(d.days[rows].tolist(), d.usage[rows].tolist(), d.sms[rows].tolist(), strict=True)
        )
        self.sums = {column: [0, 0, 0] for column in range(len(self.plans)) if self.pooled[column]}
        self.current = [column_of[int(plan)] for plan in assignment[rows]]
        for local, column in enumerate(self.current):
            if self.pooled[column]:
                s, v = self.sums[column], self.vectors[local]
                s[0], s[1], s[2] = s[0] + v[0], s[1] + v[1], s[2] + v[2]
        self.pool = {column: self.cents(column, *s) for column, s in self.sums.items()}

    def cents(self, column: int, S: int, U: int, M: int) -> int:
        return pool_cents(S, U, M, *self.terms[self.plans[column]], self.D)

    def delta(self, local: int, column: int) -> int:
        """Exact change of the key's cost if `local` moved to `column`."""
        here, (S, U, M) = self.current[local], self.vectors[local]
        if here == column:
            return 0
        if self.pooled[here]:
            s = self.sums[here]
            leave = self.cents(here, s[0] - S, s[1] - U, s[2] - M) - self.pool[here]
        else:
            leave = -int(self.key.linear[local, here])
        if self.pooled[column]:
            s = self.sums[column]
            return leave + self.cents(column, s[0] + S, s[1] + U, s[2] + M) - self.pool[column]
        return leave + int(self.key.linear[local, column])

    def move(self, local: int, column: int) -> None:
        here, (S, U, M) = self.current[local], self.vectors[local]
        if self.pooled[here]:
            s = self.sums[here]
            s[0], s[1], s[2] = s[0] - S, s[1] - U, s[2] - M
            self.pool[here] = self.cents(here, *s)
        if self.pooled[column]:
            s = self.sums[column]
            s[0], s[1], s[2] = s[0] + S, s[1] + U, s[2] + M
            self.pool[column] = self.cents(column, *s)
        self.current[local] = column
        self.assignment[self.key.rows[local]] = self.plans[column]

    def single_moves(self, candidates: list[int], options: list[list[int]]) -> int:
        """One pass of the best single move per candidate; returns how many moved."""
        moved = 0
        for local, allowed in zip(candidates, options, strict=True):
            best, target = 0, -1
            for column in allowed:
                change = self.delta(local, column)
                if change < best:
                    best, target = change, column
            if target >= 0:
                self.move(local, target)
                moved += 1
        return moved

    def drop_a_block(self, column: int) -> bool:
        """Move devices out of a pool in overage until it needs one block fewer, if that pays.

        Single moves cannot see this when one block is shared by several devices' usage (a
        0 MB pool with 50 MB blocks, say): only moving them together saves the block.
        """
        members = [local for local, here in enumerate(self.current) if here == column]
        exits = []
        for local in members:
            others = [c for c in np.flatnonzero(self.key.allowed[local]).tolist() if c != column]
            if others:
                best = min(others, key=lambda c: self.delta(local, c))
                weight = max(1, int(self.key.net[local, column] * 1e6))
                exits.append((self.delta(local, best) / weight, local, best))
        exits.sort()
        blocks = self._blocks(column)
        done: list[tuple[int, int]] = []
        total = 0
        for _, local, target in exits:
            total += self.delta(local, target)
            done.append((local, self.current[local]))
            self.move(local, target)
            if self._blocks(column) < blocks:
                if total < 0:
                    return True
                break
        for local, back in reversed(done):
            self.move(local, back)
        return False

    def _blocks(self, column: int) -> int:
        S, U, _ = self.sums[column]
        _, allowance, _, unit, _ = self.terms[self.plans[column]]
        return -(-max(0, U * self.D - S * allowance) // (unit * self.D))


def _local_search(
    problem: Problem, key: _Key, assignment: np.ndarray, candidates: np.ndarray, max_passes: int = 20
) -> None:
    """Single moves and block-saving group moves, with exact pool costs, until none helps."""
    moves = _Moves(problem, key, assignment)
    locals_ = candidates.tolist()
    options = [np.flatnonzero(key.allowed[local]).tolist() for local in locals_]
    for _ in range(max_passes):
        moved = moves.single_moves(locals_, options)
        for column in [c for c in moves.sums if moves._blocks(c) > 0]:
            moved += moves.drop_a_block(column)
        if not moved:
            return


def _device_classes(problem: Problem, key: _Key) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Devices a key cannot tell apart (same options, days, usage and SMS) as one class each:
    (class of each device, one member of each class, class sizes). The MILP counts devices per
    class and plan, which is exact and smaller wherever SIMs are alike."""
    d, rows = problem.devices, key.rows
    signature = np.stack([d.option_set[rows], d.days[rows], d.usage[rows], d.sms[rows]], axis=1)
    _, first, class_of, sizes = np.unique(
        signature, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    return class_of.ravel(), first, sizes


def _without_the_banner() -> None:
    """HiGHS prints its copyright banner on standard output the first time a solver is made in a
    process; `amop optimize` prints its results there. So the first solver is made here, with the
    process's standard output pointed at /dev/null for that moment (before any thread starts)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SHOWN = True


_BANNER_SHOWN = False


def _exact_milp(
    problem: Problem, key: _Key, start: np.ndarray, time_limit: float, exact_rounding: bool
) -> tuple[np.ndarray | None, float]:
    """The key as one MILP over whole overage blocks, started from `start` (each device's column,
    the heuristic's answer), stopped at MILP_REL_GAP, after MILP_NODES nodes (a small key: when
    proven optimal), or at the time limit, a safety net.

    With `exact_rounding` each pool's half-up cent rounding is modelled too, so that a small key's
    answer is the optimum to the cent; without it HiGHS finds good answers far sooner, and the
    bound gives up the half cent rounding can take off each pool. Returns each device's column
    (None when HiGHS found no assignment) and a proven lower bound on the key's cost in cents.
    """
    p, D = problem.plans, problem.cycle_days
    class_of, first, sizes = _device_classes(problem, key)
    allowed, linear, net = key.allowed[first], key.linear[first], key.net[first]
    cls_of, column_of = np.nonzero(allowed)
    n_x, n_classes = len(cls_of), len(first)
    pooled_columns = np.flatnonzero(key.pooled)
    n_pool = len(pooled_columns)
    block_var = n_x + np.arange(n_pool)
    cents_var = n_x + n_pool + np.arange(n_pool) if exact_rounding else np.zeros(0, dtype=np.int64)
    n_vars = n_x + n_pool + len(cents_var)
    var_linear = linear[cls_of, column_of]
    var_net = net[cls_of, column_of]
    rate_cents = p.rate[key.plans[pooled_columns]] / 100.0
    unit_mb = p.unit[key.plans[pooled_columns]] / 1e6
    rounding = -0.5 + 1.0 / (100 * D)  # half-up, exactly: the unrounded cost is a multiple of 1/(100 D)

    cost = np.zeros(n_vars)
    if exact_rounding:  # pooled plans cost through their pools' rounded cents
        cost[:n_x] = np.where(key.pooled[column_of], 0.0, var_linear)
        cost[cents_var] = 1.0
    else:
        cost[:n_x] = var_linear
        cost[block_var] = rate_cents
    rows, cols, vals = [cls_of], [np.arange(n_x)], [np.ones(n_x)]  # each class's devices all placed
    lower, upper = [sizes.astype(np.float64)], [sizes.astype(np.float64)]
    next_row = n_classes
    members_of = []
    for k, column in enumerate(pooled_columns):
        members = np.flatnonzero(column_of == column)
        members_of.append(members)
        # unit * blocks >= sum x * net                                          (MB)
        rows += [np.full(len(members) + 1, next_row)]
        cols += [np.concatenate([members, [block_var[k]]])]
        vals += [np.concatenate([-var_net[members], [unit_mb[k]]])]
        lower += [np.zeros(1)]
        upper += [np.full(1, np.inf)]
        next_row += 1
        if exact_rounding:  # cents >= linear + blocks * rate + rounding
            rows += [np.full(len(members) + 2, next_row)]
            cols += [np.concatenate([members, [block_var[k], cents_var[k]]])]
            vals += [np.concatenate([-var_linear[members], [-rate_cents[k], 1.0]])]
            lower += [np.array([rounding])]
            upper += [np.full(1, np.inf)]
            next_row += 1
    matrix = csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(next_row, n_vars)
    )
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_vars, next_row
    model.col_cost_ = cost
    model.col_lower_ = np.zeros(n_vars)
    model.col_upper_ = np.concatenate([sizes[cls_of].astype(np.float64), np.full(n_vars - n_x, np.inf)])
    model.row_lower_, model.row_upper_ = np.concatenate(lower), np.concatenate(upper)
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n_vars, next_row
    model.a_matrix_.start_, model.a_matrix_.index_ = matrix.indptr, matrix.indices
    model.a_matrix_.value_ = matrix.data
    model.integrality_ = [highspy.HighsVarType.kInteger] * n_vars
    solver = highspy.Highs()  # silent: its banner went with the first one (`_without_the_banner`)
    for option, value in (
        ("output_flag", False),
        ("time_limit", float(time_limit)),
        ("mip_rel_gap", 0.0 if exact_rounding else MILP_REL_GAP),
        ("mip_abs_gap", 0.999),  # the cost is whole cents: a gap below one cent is optimality
        ("threads", 1),  # with the seed and the node limit: the same answer on every run
        ("mip_max_nodes", 2**31 - 1 if exact_rounding else MILP_NODES),
        ("random_seed", 0),
        # presolve cost more than it saved on these models (10,000 devices: 11.4 s with it, 8.3 s
        # without, bench/optimizer.py), and the root node is most of a MILP's time here
        ("presolve", "off"),
    ):
        solver.setOptionValue(option, value)
    solver.passModel(model)
    counts = np.zeros((n_classes, len(key.plans)))
    np.add.at(counts, (class_of, start), 1.0)
    values = np.zeros(n_vars)
    values[:n_x] = counts[cls_of, column_of]
    for k, members in enumerate(members_of):
        used = values[members] @ var_net[members]
        values[block_var[k]] = max(0.0, math.ceil(used / unit_mb[k] - 1e-9))
        if exact_rounding:
            owed = values[members] @ var_linear[members] + values[block_var[k]] * rate_cents[k] + rounding
            values[cents_var[k]] = max(0.0, math.ceil(owed - 1e-9))
    guess = highspy.HighsSolution()
    guess.col_value = values.tolist()
    solver.setSolution(guess)
    solver.run()
    info = solver.getInfo()
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else -math.inf
    if exact_rounding:  # whole cents: the bound rounds up
        bound = math.ceil(bound - 1e-6)
    else:
        bound -= 0.5 * n_pool
    if info.primal_solution_status != 2:  # no feasible assignment found
        return None, bound
    counts = np.rint(np.asarray(solver.getSolution().col_value)[:n_x]).astype(np.int64)
    choice = np.full(len(key.rows), -1)
    order = np.argsort(class_of, kind="stable")
    starts = np.searchsorted(class_of[order], np.arange(n_classes))
    given = np.zeros(n_classes, dtype=np.int64)
    for var in np.flatnonzero(counts > 0):
        c = cls_of[var]
        take = order[starts[c] + given[c] : starts[c] + given[c] + counts[var]]
        choice[take] = column_of[var]
        given[c] += counts[var]
    return (choice if (choice >= 0).all() else None), bound


def _solve_key(
    problem: Problem, rows: np.ndarray, assignment: np.ndarray, milp_devices: int
) -> tuple[KeyReport, _MilpWork | None]:
    """The key by the Lagrangian heuristic (its assignment written into `assignment`), and the
    MILP still to run on it when it is small enough and not already within MILP_REL_GAP."""
    d = problem.devices
    key = _key_problem(problem, rows)
    sub = problem.subset(rows)
    n_pooled_pools = int(key.pooled.sum())
    label = d.keys[int(d.pool_key[rows[0]])]
    prices, choice = _class_lp(problem, key) if n_pooled_pools else (np.zeros(len(key.plans)), None)
    bound = _dual_value(key, prices)
    costs = np.where(key.allowed, key.linear + key.net * prices, np.inf)
    best = costs.min(axis=1)
    if choice is None:
        choice = costs.argmin(axis=1)
    if n_pooled_pools:
        # Sifting: devices whose choice is not clear-cut at these prices (thousands of alike SIMs
        # are exactly tied), and those the class LP put elsewhere than the prices say, are
        # re-decided by one LP over their near-best plans, everyone else fixed.
        near = costs <= best[:, None] + SIFT_CENTS
        misplaced = costs[np.arange(len(choice)), choice] > best + TIE_CENTS
        free = np.flatnonzero((near.sum(axis=1) >= 2) | misplaced)
        if len(free):
            options = near[free]
            options[np.arange(len(free)), choice[free]] = True
            sifted = _restricted_lp(key, free, choice, options)
            if sifted is not None and _cents(sub, key, sifted) < _cents(sub, key, choice):
                choice = sifted
    assignment[rows] = key.plans[choice]
    lower_bound = bound - 0.5 * n_pooled_pools
    margin = np.partition(costs, 1, axis=1)[:, 1] - best if costs.shape[1] > 1 else np.full(len(rows), np.inf)
    closest = np.argsort(margin, kind="stable")
    _local_search(problem, key, assignment, closest[:LOCAL_SEARCH_DEVICES])
    choice = np.searchsorted(key.plans, assignment[rows])
    cents = _cents(sub, key, choice)
    report = KeyReport(label, len(rows), "lagrangian", lower_bound, cents)
    # within a cent is optimal (the cost is whole cents); a larger key may stop at MILP_REL_GAP
    close_enough = cents - lower_bound <= 0.999 or (
        len(rows) > EXACT_ROUNDING_DEVICES and cents - lower_bound <= MILP_REL_GAP * cents
    )
    if not n_pooled_pools or len(rows) > milp_devices or close_enough:
        return report, None
    return report, _MilpWork(problem, sub, key, choice, report)


@dataclass
class _MilpWork:
    """A key small enough to be solved as one MILP, from the heuristic's answer (`start`)."""

    problem: Problem
    sub: Problem  # the problem restricted to the key's devices, to price its answers
    key: _Key
    start: np.ndarray
    heuristic: KeyReport

    def solve(self, seconds: float | None = None) -> tuple[np.ndarray | None, float]:
        exact_rounding = len(self.key.rows) <= EXACT_ROUNDING_DEVICES
        return _exact_milp(self.problem, self.key, self.start, seconds or MILP_TIME_LIMIT, exact_rounding)

    def apply(self, solved: np.ndarray | None, bound: float, assignment: np.ndarray) -> KeyReport:
        """The MILP's answer where it is cheaper; its proven bound where it is higher."""
        cents = self.heuristic.cost_cents
        if solved is not None:
            found = _cents(self.sub, self.key, solved)
            if found < cents:
                assignment[self.key.rows], cents = self.key.plans[solved], found
        lower_bound = min(max(self.heuristic.lower_bound_cents, bound), cents)
        return KeyReport(self.heuristic.pool_key, len(self.key.rows), "milp", lower_bound, cents)


def _cents(sub: Problem, key: _Key, choice: np.ndarray) -> int:
    return assignment_cost(sub, key.plans[choice]).total_cents


def exact_optimize(
    problem: Problem,
    milp_devices: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    milp_seconds: float | None = None,
) -> ExactResult:
    """Assign every device a plan allowed to it, minimising the exact total cost.

    Every key gets the heuristic; then the small keys' MILPs run side by side, one a core (HiGHS
    releases the GIL), each from its key's heuristic answer. A MILP ends on work done (its root
    and MILP_NODES nodes, or a proof), not on the clock, so that the same month gives the same
    answer on every run; `milp_seconds` replaces the safety time limit (0 runs no MILP).
    """
    started = time.perf_counter()
    milp_devices = MILP_DEVICES if milp_devices is None else milp_devices
    if milp_seconds == 0:
        milp_devices = 0
    d = problem.devices
    assignment = np.full(len(d), -1, dtype=np.int64)
    keys = [rows for rows in (np.flatnonzero(d.pool_key == k) for k in range(len(d.keys))) if len(rows)]
    reports: list[KeyReport] = []
    work: dict[int, _MilpWork] = {}
    done = 0
    for rows in keys:
        report, milp = _solve_key(problem, rows, assignment, milp_devices)
        if milp is None:
            done += 1
            if progress:
                progress(done, len(keys))
        else:
            work[len(reports)] = milp
        reports.append(report)
    if work:
        _without_the_banner()
        with ThreadPoolExecutor(max_workers=min(len(work), os.cpu_count() or 1)) as pool:
            running = {pool.submit(milp.solve, milp_seconds): index for index, milp in work.items()}
            for future in as_completed(running):
                index = running[future]
                reports[index] = work[index].apply(*future.result(), assignment)
                done += 1
                if progress:
                    progress(done, len(keys))
    return combine_keys(problem, assignment, reports, time.perf_counter() - started)


def combine_keys(
    problem: Problem, assignment: np.ndarray, reports: list[KeyReport], seconds: float
) -> ExactResult:
    """The result of keys solved apart (in one call, or in parallel steps): the total is priced
    on the whole assignment, and the keys' float bounds are summed before rounding, so splitting
    the work changes nothing."""
    total = assignment_cost(problem, assignment).total_cents
    # A float bound is rounded down to whole cents, with a margin for float error; fsum makes the
    # sum independent of the reports' order.
    bound = math.fsum(r.lower_bound_cents for r in reports)
    lower = int(np.floor(bound - 1e-9 * abs(bound) - 1e-6 * len(problem.devices)))
    return ExactResult(assignment, total, min(lower, total), seconds, reports)
