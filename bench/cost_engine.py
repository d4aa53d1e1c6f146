"""Cost engine benchmark: the exact cost of one assignment of 1,000,000 devices.

Run: python bench/cost_engine.py [--devices 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1_000_000)
    args = parser.parse_args()
    from fleets import CYCLE_DAYS, write_bench_fleet

    from amop_pipelines.optimization.cost import assignment_cost
    from amop_pipelines.optimization.inputs import read_problem

    with tempfile.TemporaryDirectory() as folder:
        devices_csv, plans_csv = write_bench_fleet(args.devices, Path(folder))
        problem = read_problem(devices_csv, plans_csv, CYCLE_DAYS)
    assignment = problem.devices.current.astype(np.int64)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        breakdown = assignment_cost(problem, assignment)
        timings.append(time.perf_counter() - started)
    print(f"devices: {args.devices:,}")
    print(f"pooled pools: {len(breakdown.pools)}")
    print(f"total cost: {breakdown.total}")
    print(f"seconds per costing: best {min(timings):.3f}, median {sorted(timings)[2]:.3f}")


if __name__ == "__main__":
    main()
