"""The month job after the sync, for one account of `--devices` devices, on SQLite and on PostgreSQL
(the AMOP database and the Dagster instance both), side by side.

Setup, reported apart: the demo fleet seeded so that its Jasper account holds `--devices` devices
with this period's usage (what a sync leaves behind). Then, in a fresh process per database, the
optimization assets of the account's month: groups, both methods, results, winners, the Excel
report (and its CSV) and the mail, Go / No Go. By default as the code location runs them
(`optimization_job` with the project's executor: a process per step); `--executor in-process`
runs every step in one process (`materialize`, which keeps every output in memory). Peak memory
is that of the run's processes summed; each step's time and the memory at its peak are printed.

With `--sync`, the whole job instead (the sync from the simulator at `--rate` requests/s first),
on SQLite: the figures of the earlier runs of this benchmark.

Run: python bench/optimization_job.py --devices 1000000 [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _provider(url: str):
    from sqlalchemy.orm import Session

    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import ServiceProvider

    engine = make_engine(url)
    with Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
        session.expunge(provider)
    engine.dispose()
    return provider


def _month_job(url: str, dagster_home: str, folder: str, executor: str) -> dict:
    """The optimization assets of the Jasper account's month, run from this process (a child):
    as the code location runs them (`multiprocess`: the project's executor, a process per step,
    values between steps through its step storage), or all in this process (`in-process`:
    `materialize`, which also keeps every step's output in memory for its result)."""
    os.environ |= {"AMOP_DATA_DIR": folder, "DAGSTER_HOME": dagster_home, "AMOP_DATABASE_URL": url}
    import dagster as dg

    from amop_pipelines.defs.optimization.assets import optimization_assets
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.launch import (
        current_billing_month,
        materialize_month,
        month_partition,
        partition_tags,
    )
    from amop_pipelines.defs.shared.notifier import Notifier
    from amop_pipelines.defs.shared.partitions import providers
    from amop_pipelines.sync.providers import provider_key

    provider = _provider(url)
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance, _RssSampler() as rss:
        started = time.perf_counter()
        if executor == "in-process":
            resources = {
                "amop_db": AmopDatabase(url=url),
                "notifier": Notifier(outbox_dir=str(Path(folder) / "outbox")),
            }
            result = materialize_month(
                optimization_assets, provider, instance, resources, run_config=run_config
            )
            run_id = result.run_id
        else:
            from dagster._core.definitions.reconstruct import ReconstructableRepository

            instance.add_dynamic_partitions(providers.name, [provider_key(provider.name)])
            tags = partition_tags(month_partition(provider, current_billing_month(provider)))
            repository = ReconstructableRepository.for_module(
                "amop_pipelines.definitions", "defs", str(Path(__file__).parents[1])
            )
            with dg.execute_job(
                repository.get_reconstructable_job("optimization_job"),
                instance,
                run_config=run_config,
                tags=tags,
                asset_selection=[asset.key for asset in optimization_assets],
            ) as result:
                run_id = result.run_id
        seconds = time.perf_counter() - started
        entries = instance.all_logs(run_id)
        steps = {
            entry.step_key: entry.dagster_event.event_specific_data.duration_ms / 1000
            for entry in entries
            if entry.dagster_event and entry.dagster_event.event_type_value == "STEP_SUCCESS"
        }
        storage = type(instance.run_storage).__name__
        step_peaks = rss.per_step(entries)
    if not result.success:
        failures = [e.message for e in entries if e.dagster_event and e.dagster_event.is_failure]
        raise SystemExit(f"the month job failed: {failures}")
    found = {  # what the UI shows of the run: its assets' metadata
        entry.dagster_event.asset_key.path[-1]: entry.dagster_event.materialization.metadata
        for entry in entries
        if entry.dagster_event and entry.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }
    winners = found["winning_results"]
    return {
        "devices": found["comm_plan_groups"]["devices"].value,
        "seconds": seconds,
        "peak_mb": rss.peak(),
        "savings": f"{winners['savings'].value:,.2f} ({winners['savings_percent'].value}%)",
        "steps": steps,
        "step_peak_mb": step_peaks,
        "dagster_storage": storage,
    }


class _RssSampler:
    """The resident memory of this process and every process it started (a run's step
    processes), summed, every 0.1 s: the machine's memory the job needs, put on its steps."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._stop.wait(0.1):
            pages = sum(_resident_pages(pid) for pid in _tree(os.getpid()))
            self.samples.append((time.time(), pages * page_mb))

    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def per_step(self, entries) -> dict[str, float]:
        """The highest resident memory sampled while each step ran (`entries`: the run's logs)."""
        started: dict[str, float] = {}
        peaks: dict[str, float] = {}
        for entry in entries:
            kind = entry.dagster_event.event_type_value if entry.dagster_event else None
            if kind == "STEP_START":
                started[entry.step_key] = entry.timestamp
            elif kind == "STEP_SUCCESS" and entry.step_key in started:
                during = [mb for at, mb in self.samples if started[entry.step_key] <= at <= entry.timestamp]
                peaks[entry.step_key] = max(during, default=0.0)
        return peaks


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _resident_pages(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):  # ended meanwhile
        return 0


def _dagster_home(folder: Path, database: str) -> Path:
    """A DAGSTER_HOME with the project's own dagster.yaml (its storage: PostgreSQL when
    DAGSTER_PG_URL is set, else SQLite under the home)."""
    home = folder / f"dagster-{database}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    return home


def _fresh_pg(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str, devices: int) -> tuple[float, int]:
    """The demo fleet with `devices` Jasper devices; (seconds, Jasper devices)."""
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.demo.catalog import JASPER
    from amop_pipelines.demo.seed import seed_demo

    migrate.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    seed_demo(engine, devices=int(devices / JASPER.share) + 1)
    if engine.dialect.name == "postgresql":  # as a database that has been running: its statistics
        # known, no autovacuum of the fresh rows competing with the job for the 2 cores
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    seconds = time.perf_counter() - started
    with engine.connect() as connection:
        jasper = connection.scalar(
            sa.text(
                "SELECT count(*) FROM device JOIN service_provider p ON p.id = device.service_provider_id "
                "WHERE p.integration = 'jasper'"
            )
        )
    engine.dispose()
    return seconds, jasper


def _after_sync(args: argparse.Namespace) -> None:
    databases = args.databases.split(",")
    print(f"the month job after the sync, one account of about {args.devices:,} devices")
    print(
        f"{'database':>10} {'devices':>9} {'seed s':>7} {'job s':>7} {'peak MB':>8}  savings; slowest steps"
    )
    with tempfile.TemporaryDirectory() as folder:
        for database in databases:
            names = [f"bench_amop_{os.getpid()}", f"bench_dagster_{os.getpid()}"]
            if database == "postgresql":
                url, dagster_url = (_fresh_pg(name) for name in names)
            else:
                url, dagster_url = f"sqlite:///{Path(folder) / 'amop.sqlite3'}", None
            try:
                seeded, _ = _seed(url, args.devices)
                home = _dagster_home(Path(folder), database)
                data = Path(folder) / f"data-{database}"
                env = {k: v for k, v in os.environ.items() if k != "DAGSTER_PG_URL"}
                out = subprocess.run(
                    [sys.executable, __file__, "--one", url, str(home), str(data), args.executor],
                    capture_output=True,
                    text=True,
                    env=env | ({"DAGSTER_PG_URL": dagster_url} if dagster_url else {}),
                )
                if out.returncode != 0:
                    raise SystemExit(out.stderr[-4000:])
                figures = json.loads(out.stdout.strip().splitlines()[-1])
            finally:
                if database == "postgresql":
                    for name in names:
                        _drop_pg(name)
            slowest = sorted(figures["steps"].items(), key=lambda item: -item[1])[:4]
            peaks = figures["step_peak_mb"]
            steps = ", ".join(
                f"{step} {seconds:.1f} s ({peaks.get(step, 0):,.0f} MB)" for step, seconds in slowest
            )
            print(
                f"{database:>10} {figures['devices']:>9,} {seeded:>7.1f} {figures['seconds']:>7.1f} "
                f"{figures['peak_mb']:>8,.0f}  {figures['savings']}; {steps} "
                f"(Dagster storage: {figures['dagster_storage']})",
                flush=True,
            )


def _with_sync(args: argparse.Namespace) -> None:
    """The whole job, sync included, every provider of the demo fleet (SQLite)."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AMOP_DATA_DIR"] = folder
        import dagster as dg

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
                assert result.success
                totals = result.output_for_node("winning_results")
                summary = f"{totals.devices:,} devices, {seconds:.1f} s, savings {totals.savings_text()}"
                print(f"{provider.name}: {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sync", action="store_true", help="the whole job, the sync included (SQLite)")
    parser.add_argument("--rate", type=float, default=50.0, help="with --sync: the carrier's requests/s")
    parser.add_argument(
        "--executor",
        choices=["multiprocess", "in-process"],
        default="multiprocess",
        help="as the code location runs the job (a process per step), or all in one process",
    )
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_month_job(*args.one)))
    elif args.sync:
        _with_sync(args)
    else:
        _after_sync(args)


if __name__ == "__main__":
    main()
