"""Two carrier accounts synced side by side, as the project's instance runs them: each account's
carrier calls keep to its own limit, and neither waits for the other."""

import itertools
import subprocess
import sys

import dagster as dg
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import register_receiver, running_receiver
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.shared.launch import current_billing_month, month_partition, partition_tags
from amop_pipelines.defs.shared.partitions import providers
from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials_env
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.sync.providers import provider_key
from amop_pipelines_tests.defs.test_definitions import ROOT

FLEET = 1500
RATE = 15  # calls a second each account allows, at the carrier and in AMOP
SECRET = "parallel-accounts-secret"
CARRIER_STEPS = ("device_staging", "usage_staging", "carrier_rate_plans")
SYNC = """
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

repository = ReconstructableRepository.for_module("amop_pipelines.definitions", "defs", {root!r})
with dg.DagsterInstance.get() as instance:
    result = dg.execute_job(
        repository.get_reconstructable_job("sync_job"),
        instance,
        tags={tags!r},
        run_config={{"ops": {{"device_staging": {{"config": {{"full_sync": True}}}}}}}},
    )
raise SystemExit(0 if result.success else 1)
"""


def _carrier_step_spans() -> dict[str, list[tuple[float, float]]]:
    """Per run, (start, end) of each step that calls the carrier, from the run's event log."""
    spans: dict[str, list[tuple[float, float]]] = {}
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs():
            started: dict[str, float] = {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or record.step_key not in CARRIER_STEPS:
                    continue
                if event.event_type == dg.DagsterEventType.STEP_START:
                    started[record.step_key] = record.timestamp
                elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                    spans.setdefault(run.run_id, []).append((started[record.step_key], record.timestamp))
    return spans


def test_two_accounts_sync_side_by_side_each_within_its_own_limit(
    sqlite_url, sqlite_engine, tmp_path, monkeypatch
):
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=RATE))
        accounts = connection.scalars(sa.select(ServiceProvider.name).order_by(ServiceProvider.id)).all()
    with (
        running_simulator(new_state(devices=FLEET)) as sim,
        running_receiver(sqlite_engine, SECRET) as receiver_url,
    ):
        sim.freeze_clock()
        # ThingSpace's bulk usage comes by DeviceUsage callback, as in production
        register_receiver(sqlite_engine, simulator_carriers(sim.base_url).for_provider, receiver_url, SECRET)
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(carrier, rate_limit_per_second=RATE)  # the carrier answers 429 past it
        sim.state.captured.clear()
        home = tmp_path / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())  # the project's pools
        for name, value in {
            "DAGSTER_HOME": str(home),
            "AMOP_DATABASE_URL": sqlite_url,
            "AMOP_DATA_DIR": str(tmp_path / "data"),
            "AMOP_CARRIER_BASE_URL": sim.base_url,
            **simulator_credentials_env(),
        }.items():
            monkeypatch.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions(providers.name, [provider_key(name) for name in accounts])
        runs = []
        for name in accounts:  # each sync in its own process, as the run queue launches them
            with sa.orm.Session(sqlite_engine) as session:
                provider = session.scalars(sa.select(ServiceProvider).filter_by(name=name)).one()
                partition = month_partition(provider, current_billing_month(provider))
            script = SYNC.format(root=str(ROOT), tags=partition_tags(partition))
            runs.append(subprocess.Popen([sys.executable, "-c", script], cwd=ROOT))
        results = [run.wait(timeout=600) for run in runs]
        calls = {
            carrier: sorted(c["at"] for c in sim.state.captured if c["carrier"] == carrier)
            for carrier in ("jasper", "thingspace")
        }
        limited = sim.stats()["rate_limited"]
    assert results == [0, 0]
    # side by side, not in turn: a step calling one account ran while a step calling the other did
    spans = _carrier_step_spans()
    assert len(spans) == 2
    (first, second) = spans.values()
    assert any(a0 < b1 and b0 < a1 for a0, a1 in first for b0, b1 in second), spans
    for steps in spans.values():  # while within a run, the steps calling its account take turns
        ordered = sorted(steps)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(ordered)), ordered
    for carrier, times in calls.items():  # each account at or under its own limit, measured here
        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert busiest <= RATE + 1, (carrier, busiest)
    assert limited == {"jasper": 0, "thingspace": 0}  # the carriers never had to say "too many"
