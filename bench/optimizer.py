"""Optimizer benchmark: per fleet size and method, wall time (files read and written included),
peak memory, total cost, lower bound and gap, and how far the default method is below legacy.

Each run is its own process (`amop optimize`'s code path), so peak memory is its own.
Run: python bench/optimizer.py [--sizes 10000,100000,1000000] [--legacy-sequences 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _one(devices_csv: str, plans_csv: str, method: str, sequences: int) -> dict:
    from fleets import CYCLE_DAYS

    from amop_pipelines.optimization.files import optimize_files

    out = Path(devices_csv).with_name(f"assignments-{method}.csv")
    started = time.perf_counter()
    summary = optimize_files(
        Path(devices_csv), Path(plans_csv), CYCLE_DAYS, out, method, max_sequences=sequences
    )
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cost": str(summary.cost_after),
        "before": str(summary.cost_before),
        "lower_bound": str(summary.lower_bound) if summary.lower_bound is not None else "",
        "gap": summary.gap,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--legacy-sequences", type=int, default=2000, help="sequences per group (legacy)")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        devices_csv, plans_csv, method, sequences = args.one
        print(json.dumps(_one(devices_csv, plans_csv, method, int(sequences))))
        return
    from fleets import write_bench_fleet

    columns = ("devices", "method", "seconds", "peak MB", "total cost", "lower bound", "gap", "vs legacy")
    widths = (10, 7, 8, 8, 14, 14, 9, 10)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            devices_csv, plans_csv = write_bench_fleet(size, Path(folder) / str(size))
            figures = {}
            for method in ("exact", "legacy"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--one",
                        str(devices_csv),
                        str(plans_csv),
                        method,
                        str(args.legacy_sequences),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                figures[method] = json.loads(out.strip().splitlines()[-1])
            legacy_cost = float(figures["legacy"]["cost"])
            for method, f in figures.items():
                gap = f"{f['gap']:.4%}" if f["gap"] is not None else ""
                below = f"{(legacy_cost - float(f['cost'])) / legacy_cost:.2%}" if method == "exact" else ""
                print(
                    f"{size:>10,} {method:>7} {f['seconds']:>8.2f} {f['peak_mb']:>8,.0f} {f['cost']:>14} "
                    f"{f['lower_bound']:>14} {gap:>9} {below:>10}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
