"""The sync assets against the simulator, next to a bare client sync at the same rate limit.

Seeds the demo fleet's reference data into a fresh SQLite file (devices removed, so every device
is inserted), serves the same fleet from the simulator, and materializes the sync assets of
each provider for its current billing month with a full sync. Target: at most 1.2 times the
bare sync (`bench/sync_throughput.py`) for the same fleet and limit.
Run: python bench/sync_assets.py [--devices 100000] [--rate 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    from sync_throughput import direct_sync

    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import Device, DeviceUsage, ServiceProvider
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.launch import materialize_month
    from amop_pipelines.defs.sync.assets import sync_assets
    from amop_pipelines.demo.carriers import simulator_carriers
    from amop_pipelines.demo.seed import seed_demo
    from amop_pipelines.demo.simulated_fleet import new_state
    from amop_pipelines.simulator.server import running_simulator

    with tempfile.TemporaryDirectory() as folder, running_simulator(new_state(devices=args.devices)) as sim:
        sim.freeze_clock()
        url = f"sqlite:///{Path(folder) / 'amop.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        seed_demo(engine, devices=args.devices)
        with engine.begin() as connection:
            connection.execute(sa.delete(DeviceUsage))
            connection.execute(sa.delete(Device))
            connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=args.rate))
            rows = connection.execute(sa.select(ServiceProvider)).all()
        print(f"fleet: {args.devices:,} demo devices; limit {args.rate:g} requests/s per carrier")
        print(f"{'carrier':>10} {'devices':>8} {'bare s':>8} {'assets s':>9} {'ratio':>6}")
        totals = [0, 0.0, 0.0]
        for provider in rows:
            count, _, bare = direct_sync(sim, provider.integration, args.rate)
            sim.reset_faults()
            sim.set_faults(provider.integration, rate_limit_per_second=args.rate, max_in_flight=1)
            resources = {
                "amop_db": AmopDatabase(url=url),
                "carriers": simulator_carriers(sim.base_url),
            }
            with dg.instance_for_test() as instance:
                started = time.perf_counter()
                result = materialize_month(
                    sync_assets,
                    provider,
                    instance,
                    resources,
                    run_config={"ops": {"device_staging": {"config": {"full_sync": True}}}},
                )
                seconds = time.perf_counter() - started
            assert result.success
            inserted = result.asset_materializations_for_node("devices")[0].metadata["inserted"].value
            assert inserted == count, (inserted, count)
            print(
                f"{provider.integration:>10} {count:>8,} {bare:>8.1f} {seconds:>9.1f} {seconds / bare:>6.2f}",
                flush=True,
            )
            totals = [totals[0] + count, totals[1] + bare, totals[2] + seconds]
        print(
            f"{'fleet':>10} {totals[0]:>8,} {totals[1]:>8.1f} {totals[2]:>9.1f} {totals[2] / totals[1]:>6.2f}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
