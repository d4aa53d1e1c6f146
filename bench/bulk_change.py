"""Bulk change throughput: Change Carrier Rate Plan items through the change engine and the
simulator at the carrier's default limit, next to the most that limit allows (one call per item).

Run: python bench/bulk_change.py [--items 10000] [--rate 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5.0, help="the Jasper account's limit (default 5/s)")
    args = parser.parse_args()
    from amop_pipelines.changes.executor import execute_request
    from amop_pipelines.changes.requests import approve, submit_file
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import ServiceProvider
    from amop_pipelines.demo.carriers import simulator_carriers
    from amop_pipelines.demo.seed import seed_demo
    from amop_pipelines.demo.simulated_fleet import new_state
    from amop_pipelines.simulator.server import running_simulator

    fleet = int(args.items / 0.6 / 0.75 * 1.2) + 500  # Jasper is 60% of the fleet, CORE+TRACKER 75% of it
    with tempfile.TemporaryDirectory() as folder, running_simulator(new_state(devices=fleet)) as sim:
        url = f"sqlite:///{Path(folder) / 'amop.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        seed_demo(engine, devices=fleet)
        with engine.begin() as connection:
            connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=args.rate))
            rows = connection.execute(
                sa.text(
                    "SELECT d.iccid, rp.plan_code FROM device d "
                    "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                    "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
                    "WHERE cp.name IN ('CP-CORE', 'CP-TRACKER') ORDER BY d.iccid LIMIT :n"
                ),
                {"n": args.items},
            ).all()
        path = Path(folder) / "changes.csv"
        path.write_text(
            "iccid,rate_plan\n"
            + "".join(
                f"{iccid},{'J-POOL-5MB' if plan != 'J-POOL-5MB' else 'J-POOL-1MB'}\n" for iccid, plan in rows
            )
        )
        sim.set_faults("jasper", rate_limit_per_second=args.rate, max_in_flight=1)
        request_id = submit_file(engine, "change_carrier_rate_plan", path, "bench")
        if approve(engine, request_id, "bench-approver") != "pending":  # a large request needs approval
            raise SystemExit("the request still waits for approvals (AMOP_APPROVALS_REQUIRED)")
        carriers = simulator_carriers(sim.base_url)
        started = time.perf_counter()
        report = execute_request(engine, request_id, carriers.for_provider)
        seconds = time.perf_counter() - started
        applied = [op["iccid"] for op in sim.operations() if op["operation"] == "edit"]
        print(f"items: {len(rows):,}; limit {args.rate:g}/s (one call per item)")
        print(
            f"seconds: {seconds:.1f}; items/s: {len(rows) / seconds:.2f}; of the limit's maximum: "
            f"{len(rows) / seconds / args.rate:.1%}"
        )
        print(f"outcome: {report.state} {report.counts}; applied twice: {len(applied) - len(set(applied))}")


if __name__ == "__main__":
    main()
