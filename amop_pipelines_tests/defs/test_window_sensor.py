"""`optimization_window_sensor` ticked inside a real test instance with a controlled clock."""

import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.dagster_run import DagsterRun

from amop_pipelines.db.models import OptimizationSession
from amop_pipelines.defs.optimization import sensors as window
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.sync.assets import SESSION_TAG
from amop_pipelines.demo.seed import seed_demo

ACME = "acme-iot-jasper"  # Chicago, cycle ends on the 18th, final-day start hour 06:00


@pytest.fixture
def tick(sqlite_url, sqlite_engine, monkeypatch):
    seed_demo(sqlite_engine, devices=50)

    def run(instance, at: datetime) -> dg.SensorResult:
        monkeypatch.setattr(window, "current_time", lambda: at)
        with dg.build_sensor_context(
            instance=instance, resources={"amop_db": AmopDatabase(url=sqlite_url)}
        ) as context:
            return window.optimization_window_sensor(context)

    return run


def _sessions(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(OptimizationSession.status, OptimizationSession.progress)).all()


def test_outside_every_window_nothing_runs(tick, sqlite_engine):
    with dg.instance_for_test() as instance:
        result = tick(instance, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert not result.run_requests
    assert _sessions(sqlite_engine) == []


def test_a_run_for_the_provider_in_its_window_and_repeated_ticks_ask_for_the_same_run(tick, sqlite_engine):
    at = datetime(2026, 12, 12, 13, tzinfo=UTC)  # inside Acme's window, outside Northwind's
    with dg.instance_for_test() as instance:
        first = tick(instance, at)
        again = tick(instance, at.replace(hour=20))
    (request,) = first.run_requests
    assert request.run_key == f"optimization|{ACME}|2026-12|2026-12-12"
    assert request.partition_key == dg.MultiPartitionKey({"provider": ACME, "billing_month": "2026-12-01"})
    assert request.tags[window.PROVIDER_TAG] == ACME and request.tags[window.LOCK_TAG] == ACME
    assert [r.run_key for r in again.run_requests] == [request.run_key]
    # one session GUID for the slot, however many ticks; the sensor writes nothing, the run opens it
    assert again.run_requests[0].tags[SESSION_TAG] == request.tags[SESSION_TAG]
    assert _sessions(sqlite_engine) == []


def _running(instance, provider: str) -> None:
    instance.add_run(
        DagsterRun(
            job_name="sync_job",
            run_id=str(uuid.uuid4()),
            tags={window.PROVIDER_TAG: provider},
            status=dg.DagsterRunStatus.STARTED,
        )
    )


def test_no_second_session_while_one_runs_except_on_the_final_day(tick):
    with dg.instance_for_test() as instance:
        _running(instance, ACME)
        busy_day = tick(instance, datetime(2026, 12, 12, 13, tzinfo=UTC))
        final_day = tick(instance, datetime(2026, 12, 18, 13, tzinfo=UTC))  # 07:00 CST on the end day
    assert not busy_day.run_requests
    assert "a session is running" in busy_day.skip_reason.skip_message
    (request,) = final_day.run_requests
    assert request.run_key.endswith("|2026-12-18|07")
    assert window.LOCK_TAG not in request.tags  # hourly final-day runs may overlap
