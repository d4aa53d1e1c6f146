"""Random optimization instances for the tests, written as contract CSV files and read back."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np

from amop_pipelines.optimization.inputs import read_problem
from amop_pipelines.optimization.problem import Problem

COMM_PLANS = ("CP-A", "CP-B", "CP-C")


def random_problem(
    seed: int, devices: int, plans: int, keys: int = 2, cycle_days: int = 30, heavy: bool = True
) -> Problem:
    """Plans with random prices (pooled or not, per-MB or block overage); each comm plan allows a
    random non-empty subset; devices with lognormal usage, some idle, some prorated."""
    rng = np.random.default_rng(seed)
    plan_rows = []
    allowed = {c: set() for c in COMM_PLANS}
    for p in range(plans):
        for c in COMM_PLANS:
            if rng.random() < 0.7:
                allowed[c].add(p)
    for c in COMM_PLANS:  # every comm plan allows at least one plan
        if not allowed[c]:
            allowed[c].add(int(rng.integers(plans)))
    for p in range(plans):
        charge = Decimal(int(rng.integers(20, 4000))) / 100
        allowance = int(rng.choice([0, 1, 5, 20, 50, 200]))
        unit = int(rng.choice([1, 1, 10, 50]))
        rate = (
            Decimal(int(rng.integers(5, 300))) / 100 * unit
            if unit > 1
            else Decimal(int(rng.integers(5, 90))) / 100
        )
        sms = Decimal(int(rng.integers(0, 5))) / 100
        comm = ";".join(c for c in COMM_PLANS if p in allowed[c]) or COMM_PLANS[0]
        pooled = "true" if rng.random() < 0.6 else "false"
        plan_rows.append(f"P{p},{charge},{allowance},{rate},{unit},{sms},{pooled},{comm},")
    device_rows = []
    for i in range(devices):
        usage = (
            0.0 if rng.random() < 0.2 else float(np.round(rng.lognormal(np.log(8), 1.3 if heavy else 0.6), 3))
        )
        days = "" if rng.random() < 0.8 else str(int(rng.integers(1, cycle_days)))
        key = "" if rng.random() < 0.5 else f"K{int(rng.integers(keys))}"
        comm = COMM_PLANS[int(rng.integers(len(COMM_PLANS)))]
        current = f"P{int(rng.integers(plans))}"
        iccid = f"8901{i:015d}"
        device_rows.append(f"{iccid},{comm},{usage},{int(rng.poisson(3))},{days},{key},{current},")
    return problem_from_rows(plan_rows, device_rows, cycle_days)


def problem_from_rows(plan_rows: list[str], device_rows: list[str], cycle_days: int = 30) -> Problem:
    """A problem from contract CSV rows (without their headers), read as `amop optimize` reads it."""
    with tempfile.TemporaryDirectory() as folder:
        plans_csv, devices_csv = Path(folder) / "plans.csv", Path(folder) / "devices.csv"
        plans_csv.write_text(
            "plan_code,monthly_charge,allowance_mb,overage_rate,overage_unit_mb,sms_rate,pooled,comm_plans,"
            "optimization_group\n" + "\n".join(plan_rows) + "\n"
        )
        devices_csv.write_text(
            "iccid,comm_plan,usage_mb,sms_count,days_active,pool_key,current_plan,optimization_group\n"
            + "\n".join(device_rows)
            + "\n"
        )
        return read_problem(devices_csv, plans_csv, cycle_days)
