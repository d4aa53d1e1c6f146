"""Seeding benchmark: demo fleets of 5k, 100k and 1M devices into a fresh embedded SQLite file.

Each size runs in its own process so that its peak memory (max RSS) is its own.
Run: python bench/seed_fleet.py [--sizes 5000,100000,1000000]
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


def _one(devices: int) -> dict:
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.demo.seed import seed_demo

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'amop.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        report = seed_demo(engine, devices=devices)
        seconds = time.perf_counter() - started
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"devices": report.devices_in_database, "seconds": seconds, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,100000,1000000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one)))
        return
    print(f"{'devices':>10} {'seconds':>9} {'devices/s':>10} {'peak MB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)], capture_output=True, text=True, check=True
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        rate = figures["devices"] / figures["seconds"]
        print(
            f"{figures['devices']:>10,} {figures['seconds']:>9.2f} {rate:>10,.0f} {figures['peak_mb']:>9,.0f}"
        )


if __name__ == "__main__":
    main()
