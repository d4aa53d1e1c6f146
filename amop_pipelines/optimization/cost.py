"""The cost model of DESIGN.md section 3, exactly, in integers. The single definition of truth.

For a pool of devices on one plan, with S = sum of prorated days (f_i * D), U their usage and M
their SMS count, in the units of `problem.py`:

    base     = S * charge / D
    over     = max(0, U - S * allowance / D)        (so over * D = max(0, U*D - S*allowance))
    overage  = ceil(over / unit) * rate             (whole blocks, started blocks count)
    sms      = M * sms_rate
    cost     = base + overage + sms, rounded half-up to cents

A pooled plan has one pool per (plan, pool key); a non-pooled plan gives every device its own
pool. The total is the sum of the rounded pool costs, in integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from amop_pipelines.optimization.problem import MB_SCALE, MONEY_SCALE, PlanTable, Problem

UNITS_PER_CENT = MONEY_SCALE // 100


def pool_cents(
    S: int, U: int, M: int, charge: int, allowance: int, rate: int, unit: int, sms: int, D: int
) -> int:
    """Exact rounded cost of one pool in cents, with Python integers (no overflow)."""
    blocks = -(-max(0, U * D - S * allowance) // (unit * D))
    numerator = S * charge + D * (blocks * rate + M * sms)  # money units times D
    return (numerator + UNITS_PER_CENT * D // 2) // (UNITS_PER_CENT * D)  # half-up to cents


def device_pool_cents(problem: Problem, plan: np.ndarray) -> np.ndarray:
    """Vectorised: each device alone in a pool of `plan` (int64 cents per device)."""
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    days, usage = d.days.astype(np.int64), d.usage.astype(np.int64)
    excess = np.maximum(0, usage * D - days * p.allowance[plan])
    blocks = -(-excess // (p.unit[plan] * D))
    numerator = days * p.charge[plan] + D * (blocks * p.rate[plan] + d.sms * p.sms[plan])
    return (numerator + UNITS_PER_CENT * D // 2) // (UNITS_PER_CENT * D)


@dataclass(frozen=True)
class PoolCost:
    plan: str
    pool_key: str
    devices: int
    allowance_mb: Decimal
    usage_mb: Decimal
    overage_mb: Decimal
    cents: int


@dataclass(frozen=True)
class CostBreakdown:
    total_cents: int
    device_cents: np.ndarray  # float cents per device: own pool, or its share of a shared pool
    pools: list[PoolCost]  # pooled plans' pools (per-device pools are summarised in device_cents)

    @property
    def total(self) -> Decimal:
        return cents_to_decimal(self.total_cents)


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _mb(micro: int | float) -> Decimal:
    return (Decimal(round(micro)) / MB_SCALE).normalize()


def pooled_pool_sums(
    problem: Problem, assignment: np.ndarray, rows: np.ndarray | None = None
) -> pl.DataFrame:
    """Sums (S, U, M, devices) per (plan, key) over the devices on pooled plans."""
    d = problem.devices
    rows = np.flatnonzero(problem.plans.pooled[assignment]) if rows is None else rows
    frame = pl.DataFrame(
        {
            "plan": assignment[rows].astype(np.int64),
            "key": d.pool_key[rows].astype(np.int64),
            "S": d.days[rows].astype(np.int64),
            "U": d.usage[rows].astype(np.int64),
            "M": d.sms[rows].astype(np.int64),
        }
    )
    return frame.group_by("plan", "key").agg(
        pl.col("S").sum(), pl.col("U").sum(), pl.col("M").sum(), pl.len().alias("devices")
    )


def assignment_cost(problem: Problem, assignment: np.ndarray) -> CostBreakdown:
    """The exact cost of assigning device i to plan `assignment[i]` (every device assigned)."""
    if len(assignment) != len(problem.devices):
        raise ValueError("one plan per device is needed")
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    assignment = np.asarray(assignment, dtype=np.int64)
    own_cents = device_pool_cents(problem, assignment)
    device_cents = own_cents.astype(np.float64)
    pooled = p.pooled[assignment]
    total = sum(own_cents[~pooled].tolist())  # Python integers: exact at any fleet size
    pools: list[PoolCost] = []
    if pooled.any():
        sums = pooled_pool_sums(problem, assignment).sort("plan", "key")
        overage_share = np.zeros(len(p) * len(d.keys))  # pool overage cents per MB of pool usage
        for plan, key, S, U, M, count in sums.iter_rows():
            terms = _plan_terms(p, plan)
            cents = pool_cents(S, U, M, *terms, D)
            total += cents
            allowance = S * terms[1] / D
            pools.append(
                PoolCost(
                    plan=p.codes[plan],
                    pool_key=d.keys[key],
                    devices=count,
                    allowance_mb=_mb(allowance),
                    usage_mb=_mb(U),
                    overage_mb=_mb(max(0.0, U - allowance)),
                    cents=cents,
                )
            )
            linear = (S * terms[0] + D * M * terms[4]) / (UNITS_PER_CENT * D)
            overage_share[plan * len(d.keys) + key] = (cents - linear) / U if U else 0.0
        # A pooled device's share, for reports: its own prorated charge and SMS, plus the pool's
        # overage in proportion to its usage. Totals always come from the pools, never from shares.
        rows = np.flatnonzero(pooled)
        plan = assignment[rows]
        linear = (d.days[rows] * p.charge[plan] / D + d.sms[rows] * p.sms[plan]) / UNITS_PER_CENT
        share = overage_share[plan * len(d.keys) + d.pool_key[rows]] * d.usage[rows]
        device_cents[rows] = linear + share
    return CostBreakdown(total_cents=total, device_cents=device_cents, pools=pools)


def _plan_terms(plans: PlanTable, plan: int) -> tuple[int, int, int, int, int]:
    return (
        int(plans.charge[plan]),
        int(plans.allowance[plan]),
        int(plans.rate[plan]),
        int(plans.unit[plan]),
        int(plans.sms[plan]),
    )
