"""The optimization job's steps on two Celery workers (dagster-celery, RabbitMQ broker, Redis
results, PostgreSQL instance storage), its independent groups a step each, give exactly what the
in-process run gives."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines.changes.requests import status, submit_file
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import (
    CarrierRatePlan,
    Device,
    OptimizationDeviceResult,
    OptimizationQueue,
    ServiceProvider,
)
from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.shared.carriers import CarrierClients
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import current_billing_month, materialize_month, month_partition
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.sync.assets import sync_assets
from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials_env
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator

ROOT = Path(__file__).resolve().parents[2]
FLEET = 800
# cycle-to-date usage, not projected to the cycle's end from the clock: both runs see the same month
RUN_CONFIG = {"ops": {"comm_plan_groups": {"config": {"project_usage": False}}}}
BROKER = os.environ.get("AMOP_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
BACKEND = os.environ.get("AMOP_CELERY_BACKEND", "redis://127.0.0.1:6379/0")


def _winners(url: str) -> list[tuple]:
    """Every device's winning plan and cost, as stored."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                OptimizationDeviceResult.device_id,
                OptimizationDeviceResult.recommended_rate_plan_id,
                OptimizationDeviceResult.recommended_cost,
            )
            .join(OptimizationQueue, OptimizationQueue.id == OptimizationDeviceResult.queue_id)
            .where(OptimizationQueue.is_winner)
            .order_by(OptimizationDeviceResult.device_id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _run_on_celery(tmp_path: Path, postgres_url: str, amop_url: str, body: str) -> dict[str, str]:
    """Runs `body` in a fresh process (a Dagster instance on PostgreSQL, AMOP_EXECUTOR=celery)
    while two Celery workers serve the steps; `run(job_name, ...)` executes a job of the code
    location. Returns each step's worker, from the executor's events."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    worker_yaml = tmp_path / "worker.yaml"
    worker_yaml.write_text(f"execution:\n  config:\n    broker: '{BROKER}'\n    backend: '{BACKEND}'\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": postgres_url,
        "AMOP_DATABASE_URL": amop_url,
        "AMOP_DATA_DIR": str(tmp_path / "data"),
        "AMOP_EXECUTOR": "celery",
        "AMOP_CELERY_BROKER": BROKER,
        "AMOP_CELERY_BACKEND": BACKEND,
        **simulator_credentials_env(),  # the workers build the code location's carriers resource
    }
    celery = [str(Path(sys.executable).with_name("dagster-celery")), "worker", "start"]
    workers = [
        subprocess.Popen(
            [
                *celery,
                "-A",
                "dagster_celery.app",
                "-y",
                str(worker_yaml),
                "-n",
                f"amop-test-{n}-{os.getpid()}",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the CLI starts `celery worker` as its child: stop them together
        )
        for n in (1, 2)
    ]
    script = textwrap.dedent(
        f"""
        import dagster as dg
        from dagster._core.definitions.reconstruct import ReconstructableRepository

        instance = dg.DagsterInstance.get()
        repository = ReconstructableRepository.for_module("amop_pipelines.definitions", "defs", {str(ROOT)!r})

        def run(name, **kwargs):
            job = repository.get_reconstructable_job(name)
            result = dg.execute_job(job, instance, **kwargs)
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            print("executor", job.get_definition().executor_def.name)
            for event in instance.all_logs(result.run_id):
                if (event.message or "").endswith("in celery worker"):
                    worker = event.dagster_event.engine_event_data.metadata["Celery worker"].value
                    print("step", event.message.split("Executing steps ")[1].split()[0], "on", worker)
        """
    ) + textwrap.dedent(body)
    try:
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "executor celery" in run.stdout, run.stdout
    ran = dict(line.split()[1::2] for line in run.stdout.splitlines() if line.startswith("step "))
    assert ran and all(worker.startswith("amop-test-") for worker in ran.values()), ran
    return ran


@pytest.fixture
def synced(tmp_path, sqlite_engine, sqlite_url):
    """A provider's month synced from the simulator into the AMOP database."""
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
    with Session(sqlite_engine) as session:
        # ThingSpace's M2M, phone and tablet groups share no plan: three parts, three steps
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="thingspace")).one()
        session.expunge(provider)
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.freeze_clock()
        sim.set_faults("thingspace", rate_limit_per_second=0, max_in_flight=0)
        resources = {
            "amop_db": AmopDatabase(url=sqlite_url),
            "carriers": simulator_carriers(sim.base_url),
        }
        with dg.instance_for_test() as instance:
            assert materialize_month(sync_assets, provider, instance, resources).success
    return provider, Path(sqlite_url.removeprefix("sqlite:///"))


def test_the_optimization_job_on_two_celery_workers_matches_the_in_process_run(
    synced, tmp_path, postgres_url
):
    provider, synced_file = synced
    in_process, on_celery = tmp_path / "in_process.sqlite3", tmp_path / "celery.sqlite3"
    for copy in (in_process, on_celery):  # SQLite's backup: the WAL's pages too
        with sqlite3.connect(synced_file) as source, sqlite3.connect(copy) as target:
            source.backup(target)

    # the reference: the same assets in this process
    resources = {
        "amop_db": AmopDatabase(url=f"sqlite:///{in_process}"),
        "carriers": CarrierClients(),
        "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
    }
    with dg.instance_for_test() as instance:
        assert materialize_month(
            optimization_assets, provider, instance, resources, run_config=RUN_CONFIG
        ).success

    # the same partition through Celery: a Dagster instance on PostgreSQL, two workers
    partition = month_partition(provider, current_billing_month(provider))
    ran = _run_on_celery(
        tmp_path,
        postgres_url,
        f"sqlite:///{on_celery}",
        f"""
        from amop_pipelines.defs.optimization.assets import optimization_assets
        from amop_pipelines.defs.shared.partitions import providers

        instance.add_dynamic_partitions(providers.name, [{partition.keys_by_dimension["provider"]!r}])
        tags = {{
            "dagster/partition": {str(partition)!r},
            "dagster/partition/provider": {partition.keys_by_dimension["provider"]!r},
            "dagster/partition/billing_month": {partition.keys_by_dimension["billing_month"]!r},
        }}
        keys = [key for a in optimization_assets for key in a.keys]
        run("optimization_job", run_config={RUN_CONFIG!r}, tags=tags, asset_selection=keys)
        """,
    )
    parts = sorted(step for step in ran if "optimize_part_step" in step)
    assert parts == [f"optimization_queues.optimize_part_step[part_{n}]" for n in range(3)], ran
    winners = _winners(f"sqlite:///{on_celery}")
    assert winners and winners == _winners(f"sqlite:///{in_process}")


def test_a_change_request_round_runs_its_item_batches_on_the_workers(
    sqlite_engine, sqlite_url, tmp_path, postgres_url
):
    seed_demo(sqlite_engine, devices=FLEET)
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.set_faults("jasper", rate_limit_per_second=0, max_in_flight=0)
        with sqlite_engine.begin() as connection:
            connection.execute(
                sa.update(ServiceProvider).values(rate_limit_per_second=0, base_url=sim.base_url)
            )
            iccids = connection.scalars(
                sa.select(Device.iccid)
                .join(ServiceProvider, ServiceProvider.id == Device.service_provider_id)
                .join(CarrierRatePlan, CarrierRatePlan.id == Device.carrier_rate_plan_id)
                .where(
                    ServiceProvider.integration == "jasper",
                    Device.status == "ACTIVATED",
                    CarrierRatePlan.plan_code == "J-POOL-5MB",
                )
                .order_by(Device.iccid)
                .limit(7)
            ).all()
        assert len(iccids) == 7
        plans = tmp_path / "plans.csv"
        plans.write_text("iccid,rate_plan\n" + "".join(f"{iccid},J-POOL-20MB\n" for iccid in iccids))
        request_id = submit_file(sqlite_engine, "change_carrier_rate_plan", plans, "alice")
        config = {"ops": {"start_change_round": {"config": {"request_id": request_id, "batch_size": 3}}}}
        ran = _run_on_celery(
            tmp_path, postgres_url, sqlite_url, f'run("change_request_job", run_config={config!r})'
        )
        applied = [op["iccid"] for op in sim.operations() if op["operation"] == "edit"]
    batches = sorted(step for step in ran if step.startswith("execute_change_batch"))
    assert batches == [f"execute_change_batch[batch_{n}]" for n in range(3)], ran  # 3 + 3 + 1 items
    assert status(sqlite_engine, request_id).items_by_state == {"completed": 7}
    assert sorted(applied) == sorted(iccids)  # each device's change sent once
    with Session(sqlite_engine) as session:
        changed = session.scalars(
            sa.select(CarrierRatePlan.plan_code)
            .join(Device, Device.carrier_rate_plan_id == CarrierRatePlan.id)
            .where(Device.iccid.in_(iccids))
        ).all()
    assert changed == ["J-POOL-20MB"] * 7
