"""`amop optimize`: devices.csv + plans.csv in, assignments.csv out (DESIGN.md section 5)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from amop_pipelines.contracts import ASSIGNMENTS_COLUMNS, check_output, write_csv
from amop_pipelines.optimization.cost import assignment_cost, cents_to_decimal
from amop_pipelines.optimization.exact import exact_optimize
from amop_pipelines.optimization.inputs import read_problem
from amop_pipelines.optimization.legacy import MAX_SEQUENCES, legacy_optimize
from amop_pipelines.optimization.problem import Problem

METHODS = ("exact", "legacy")


@dataclass(frozen=True)
class Summary:
    method: str
    devices: int
    cost_before: Decimal | None  # the current plans' cost, over the devices that name one
    devices_with_current_plan: int
    cost_after: Decimal
    lower_bound: Decimal | None  # exact method only
    gap: float | None
    seconds: float

    def lines(self) -> list[str]:
        out = [f"method: {self.method}", f"devices: {self.devices:,}"]
        if self.cost_before is not None:
            known = f"{self.devices_with_current_plan:,} devices with a current plan"
            out.append(f"cost before: {self.cost_before} ({known})")
        out.append(f"cost after: {self.cost_after}")
        if self.lower_bound is not None and self.gap is not None:
            out.append(f"lower bound: {self.lower_bound}")
            out.append(f"gap to lower bound: {self.gap:.4%}")
        out.append(f"seconds: {self.seconds:.2f}")
        out.append(f"total_cost={self.cost_after}")
        return out


def current_cost(problem: Problem) -> tuple[Decimal | None, int]:
    """Cost of the current plans, over the devices that name one (None when none do)."""
    known = np.flatnonzero(problem.devices.current >= 0)
    if len(known) == 0:
        return None, 0
    subset = problem.subset(known)
    return assignment_cost(subset, subset.devices.current.astype(np.int64)).total, len(known)


def optimize_files(
    devices_csv: Path,
    plans_csv: Path,
    cycle_days: int,
    out: Path,
    method: str = "exact",
    max_sequences: int = MAX_SEQUENCES,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Validate both files (raising `InputError` before anything is written), optimize, write."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not '{method}'")
    check_output(out, (devices_csv, plans_csv))  # before the work, not after it
    started = time.perf_counter()
    problem = read_problem(devices_csv, plans_csv, cycle_days)
    before, with_current = current_cost(problem)
    lower = gap = None
    if method == "exact":
        result = exact_optimize(problem, progress=progress)
        assignment, total = result.assignment, result.total_cents
        lower, gap = cents_to_decimal(result.lower_bound_cents), result.gap
    else:
        assignment = legacy_optimize(problem, max_sequences=max_sequences, progress=progress).assignment
        total = assignment_cost(problem, assignment).total_cents
    codes = problem.plans.codes
    write_csv(
        out,
        ASSIGNMENTS_COLUMNS,
        zip(problem.devices.iccids, (codes[p] for p in assignment), strict=True),
        inputs=(devices_csv, plans_csv),
    )
    return Summary(
        method=method,
        devices=len(problem.devices),
        cost_before=before,
        devices_with_current_plan=with_current,
        cost_after=cents_to_decimal(total),
        lower_bound=lower,
        gap=gap,
        seconds=time.perf_counter() - started,
    )
