"""The optimization job's steps on two Celery workers (dagster-celery, RabbitMQ broker, Redis
results, PostgreSQL instance storage and AMOP database), its independent groups a step each, give
exactly what the in-process run gives.

The run and each worker have a working directory, a DAGSTER_HOME and a data folder of their own,
as on separate hosts: the steps hand their outputs to each other through an S3-compatible object
store (moto's server, a real HTTP endpoint started here), never through a shared local folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import dagster as dg
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer
from sqlalchemy.orm import Session

from amop_pipelines.changes.requests import status, submit_file
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import (
    CarrierRatePlan,
    Device,
    OptimizationCommGroup,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationQueue,
    ServiceProvider,
)
from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.shared.carriers import CarrierClients
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import (
    current_billing_month,
    materialize_month,
    month_partition,
    partition_tags,
)
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.sync.assets import sync_assets
from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials_env
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines_tests.conftest import fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
FLEET = 800
# cycle-to-date usage, not projected to the cycle's end from the clock: both runs see the same month
RUN_CONFIG = {"ops": {"comm_plan_groups": {"config": {"project_usage": False}}}}
BROKER = os.environ.get("AMOP_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
BACKEND = os.environ.get("AMOP_CELERY_BACKEND", "redis://127.0.0.1:6379/0")
S3_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}


def _winners(url: str) -> dict[int, list[tuple]]:
    """Every device's winning plan and cost, as stored, per optimization session."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                OptimizationInstance.session_id,
                OptimizationDeviceResult.device_id,
                OptimizationDeviceResult.recommended_rate_plan_id,
                OptimizationDeviceResult.recommended_cost,
            )
            .join(OptimizationQueue, OptimizationQueue.id == OptimizationDeviceResult.queue_id)
            .join(OptimizationCommGroup, OptimizationCommGroup.id == OptimizationQueue.comm_group_id)
            .join(OptimizationInstance, OptimizationInstance.id == OptimizationCommGroup.instance_id)
            .where(OptimizationQueue.is_winner)
            .order_by(OptimizationInstance.session_id, OptimizationDeviceResult.device_id)
        ).all()
    engine.dispose()
    sessions: dict[int, list[tuple]] = {}
    for session_id, *row in rows:
        sessions.setdefault(session_id, []).append(tuple(row))
    return sessions


@dataclass
class ObjectStore:
    endpoint_url: str
    bucket: str

    def object_keys(self) -> list[str]:
        client = boto3.client("s3", endpoint_url=self.endpoint_url, **S3_CREDENTIALS)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture
def object_store() -> Iterator[ObjectStore]:
    """An S3-compatible endpoint on a free port (moto's server mode) with an empty bucket."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    store = ObjectStore(f"http://127.0.0.1:{port}", "amop-steps")
    boto3.client("s3", endpoint_url=store.endpoint_url, **S3_CREDENTIALS).create_bucket(Bucket=store.bucket)
    try:
        yield store
    finally:
        server.stop()


@pytest.fixture
def amop_postgres_url(postgres_admin_url) -> Iterator[str]:
    """The AMOP database the run and the workers share, on PostgreSQL as across hosts."""
    with fresh_postgres_database(postgres_admin_url) as url:
        migrate.upgrade(url)
        yield url


def _host(folder: Path) -> dict[str, str]:
    """A working directory, DAGSTER_HOME and data folder of one "host"."""
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return {"DAGSTER_HOME": str(home), "AMOP_DATA_DIR": str(folder / "data"), "cwd": str(folder)}


def _local_step_outputs(folder: Path) -> list[Path]:
    """Files a step output could be in: Dagster's default IO manager writes `<run>/<step>/result`
    under the home's storage, ours pickles under the data folder's `steps/`."""
    return [p for p in folder.rglob("*") if p.is_file() and (p.suffix == ".pickle" or p.name == "result")]


def _run_on_celery(tmp_path: Path, postgres_url: str, amop_url: str, store: ObjectStore, body: str) -> dict:
    """Runs `body` in a fresh process (a Dagster instance on PostgreSQL, AMOP_EXECUTOR=celery)
    while two Celery workers serve the steps, each process on a "host" of its own; `run(job_name,
    ...)` executes a job of the code location. Returns each step's worker, from the executor's
    events."""
    worker_yaml = tmp_path / "worker.yaml"
    worker_yaml.write_text(f"execution:\n  config:\n    broker: '{BROKER}'\n    backend: '{BACKEND}'\n")
    shared = {
        **os.environ,
        "DAGSTER_PG_URL": postgres_url,
        "AMOP_DATABASE_URL": amop_url,
        "AMOP_EXECUTOR": "celery",
        "AMOP_CELERY_BROKER": BROKER,
        "AMOP_CELERY_BACKEND": BACKEND,
        "AMOP_STEP_STORAGE": f"s3://{store.bucket}/steps",
        "AMOP_S3_ENDPOINT_URL": store.endpoint_url,
        "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": S3_CREDENTIALS["region_name"],
        **simulator_credentials_env(),  # the workers build the code location's carriers resource
    }
    hosts = {name: _host(tmp_path / name) for name in ("run-host", "worker-host-1", "worker-host-2")}
    celery = [str(Path(sys.executable).with_name("dagster-celery")), "worker", "start"]
    workers = []
    for n in (1, 2):
        host = dict(hosts[f"worker-host-{n}"])
        cwd = host.pop("cwd")
        workers.append(
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
                env=shared | host,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # the CLI starts `celery worker` as its child: stop them together
            )
        )
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
    run_host = dict(hosts["run-host"])
    run_cwd = run_host.pop("cwd")
    try:
        run = subprocess.run(
            [sys.executable, "-c", script],
            env=shared | run_host,
            cwd=run_cwd,
            capture_output=True,
            text=True,
            timeout=300,
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
    # every step's output went through the object store; none was left on a host's disk
    assert store.object_keys(), "no step output in the object store"
    assert [p for name in hosts for p in _local_step_outputs(tmp_path / name)] == []
    return ran


@pytest.fixture
def synced(amop_postgres_url):
    """A provider's month synced from the simulator into the AMOP database."""
    engine = make_engine(amop_postgres_url)
    seed_demo(engine, devices=FLEET)
    with engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
    with Session(engine) as session:
        # ThingSpace's M2M, phone and tablet groups share no plan: three parts, three steps
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="thingspace")).one()
        session.expunge(provider)
    engine.dispose()
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.freeze_clock()
        sim.set_faults("thingspace", rate_limit_per_second=0, max_in_flight=0)
        resources = {
            "amop_db": AmopDatabase(url=amop_postgres_url),
            "carriers": simulator_carriers(sim.base_url),
        }
        with dg.instance_for_test() as instance:
            assert materialize_month(sync_assets, provider, instance, resources).success
    return provider, amop_postgres_url


def test_the_optimization_job_on_two_celery_workers_matches_the_in_process_run(
    synced, tmp_path, postgres_url, object_store
):
    provider, amop_url = synced
    # the reference: the same assets in this process, on the same synced month
    resources = {
        "amop_db": AmopDatabase(url=amop_url),
        "carriers": CarrierClients(),
        "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
    }
    with dg.instance_for_test() as instance:
        assert materialize_month(
            optimization_assets, provider, instance, resources, run_config=RUN_CONFIG
        ).success
    (reference,) = _winners(amop_url).values()

    # the same partition through Celery: a Dagster instance on PostgreSQL, two workers
    partition = month_partition(provider, current_billing_month(provider))
    ran = _run_on_celery(
        tmp_path,
        postgres_url,
        amop_url,
        object_store,
        f"""
        from amop_pipelines.defs.optimization.assets import optimization_assets
        from amop_pipelines.defs.shared.partitions import providers

        instance.add_dynamic_partitions(providers.name, [{partition.keys_by_dimension["provider"]!r}])
        tags = {partition_tags(partition)!r}
        keys = [key for a in optimization_assets for key in a.keys]
        run("optimization_job", run_config={RUN_CONFIG!r}, tags=tags, asset_selection=keys)
        """,
    )
    parts = sorted(step for step in ran if "optimize_part_step" in step)
    assert parts == [f"optimization_queues.optimize_part_step[part_{n}]" for n in range(3)], ran
    first, second = _winners(amop_url).values()
    assert first == reference and second == reference
    assert any(key.startswith("steps/comm_plan_groups/") for key in object_store.object_keys())


def test_a_change_request_round_runs_its_item_batches_on_the_workers(
    amop_postgres_url, tmp_path, postgres_url, object_store
):
    amop_engine = make_engine(amop_postgres_url)  # the AMOP database, on PostgreSQL
    seed_demo(amop_engine, devices=FLEET)
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.set_faults("jasper", rate_limit_per_second=0, max_in_flight=0)
        with amop_engine.begin() as connection:
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
        request_id = submit_file(amop_engine, "change_carrier_rate_plan", plans, "alice")
        config = {"ops": {"start_change_round": {"config": {"request_id": request_id, "batch_size": 3}}}}
        ran = _run_on_celery(
            tmp_path,
            postgres_url,
            amop_postgres_url,
            object_store,
            f'run("change_request_job", run_config={config!r})',
        )
        applied = [op["iccid"] for op in sim.operations() if op["operation"] == "edit"]
    batches = sorted(step for step in ran if step.startswith("execute_change_batch"))
    assert batches == [f"execute_change_batch[batch_{n}]" for n in range(3)], ran  # 3 + 3 + 1 items
    assert status(amop_engine, request_id).items_by_state == {"completed": 7}
    assert sorted(applied) == sorted(iccids)  # each device's change sent once
    with Session(amop_engine) as session:
        changed = session.scalars(
            sa.select(CarrierRatePlan.plan_code)
            .join(Device, Device.carrier_rate_plan_id == CarrierRatePlan.id)
            .where(Device.iccid.in_(iccids))
        ).all()
    assert changed == ["J-POOL-20MB"] * 7
