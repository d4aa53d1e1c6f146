"""The whole optimization job (sync, then optimization, report and mail to the outbox) for each
provider of the demo fleet, against the simulator at a given rate limit.

Run: python bench/optimization_job.py [--devices 100000] [--rate 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AMOP_DATA_DIR"] = folder
        from amop_pipelines.db import migrate
        from amop_pipelines.db.engine import make_engine
        from amop_pipelines.db.models import ServiceProvider
        from amop_pipelines.defs.optimization.assets import optimization_assets
        from amop_pipelines.defs.shared.database import AmopDatabase
        from amop_pipelines.defs.shared.launch import materialize_month
        from amop_pipelines.defs.shared.notifier import Notifier
        from amop_pipelines.defs.sync.assets import sync_assets
        from amop_pipelines.demo.carriers import simulator_carriers
        from amop_pipelines.demo.seed import seed_demo
        from amop_pipelines.demo.simulated_fleet import new_state
        from amop_pipelines.simulator.server import running_simulator

        url = f"sqlite:///{Path(folder) / 'amop.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        seed_demo(engine, devices=args.devices)
        with engine.begin() as connection:
            connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=args.rate))
            rows = connection.execute(sa.select(ServiceProvider)).all()
        print(f"fleet: {args.devices:,} demo devices; limit {args.rate:g} requests/s per carrier")
        with running_simulator(new_state(devices=args.devices)) as sim:
            for carrier in ("jasper", "thingspace"):
                sim.set_faults(carrier, rate_limit_per_second=args.rate, max_in_flight=1)
            for provider in rows:
                resources = {
                    "amop_db": AmopDatabase(url=url),
                    "carriers": simulator_carriers(sim.base_url),
                    "notifier": Notifier(outbox_dir=str(Path(folder) / "outbox")),
                }
                run_config = {
                    "ops": {"device_staging": {"config": {"full_sync": True}}},
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                }
                with dg.instance_for_test() as instance:
                    started = time.perf_counter()
                    result = materialize_month(
                        [*sync_assets, *optimization_assets],
                        provider,
                        instance,
                        resources,
                        run_config=run_config,
                    )
                    seconds = time.perf_counter() - started
                    steps = {
                        event.step_key: event
                        for event in result.all_events
                        if event.event_type_value == "STEP_SUCCESS"
                    }
                assert result.success
                totals = result.output_for_node("winning_results")
                per_step = ", ".join(
                    f"{step} {event.event_specific_data.duration_ms / 1000:.1f}s"
                    for step, event in steps.items()
                )
                summary = f"{totals.devices:,} devices, {seconds:.1f} s, savings {totals.savings_text()}"
                print(f"{provider.name}: {summary}")
                print(f"  steps: {per_step}")


if __name__ == "__main__":
    main()
