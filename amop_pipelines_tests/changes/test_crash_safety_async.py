"""The asynchronous (ThingSpace) path killed mid-way, run again and reconciled: nothing lost,
nothing twice, though callbacks are dropped and duplicated."""

import time
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import CALLBACK_TIMEOUT, reconcile
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import approve, status, submit_file
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines_tests.changes.conftest import callbacks_stored, serving_receiver
from amop_pipelines_tests.changes.crashes import (
    FLEET,
    ITEMS,
    assert_settled_once,
    kill_mid_way,
    other_allowed_plans,
    past_the_approval_threshold,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.usefixtures("past_the_approval_threshold")


def test_a_killed_run_on_the_asynchronous_path_settles_every_item_once(
    simulator_process, sqlite_url, sqlite_engine, tmp_path
):
    """ThingSpace answers request ids and calls back later; 10% 5xx, 5% 429, 10% of callbacks dropped
    and 20% delivered twice. Killed mid-way, run again, reconciled: each item completed or dead."""
    base = simulator_process
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
    carriers = simulator_carriers(base)
    rows = other_allowed_plans(sqlite_engine, "thingspace", "active", ITEMS)
    path = tmp_path / "ts-changes.csv"
    path.write_text("iccid,rate_plan\n" + "".join(f"{iccid},{plan}\n" for iccid, plan in rows))
    request_id = submit_file(sqlite_engine, "change_carrier_rate_plan", path, "alice")
    approve(sqlite_engine, request_id, "bob")
    with serving_receiver(sqlite_engine, carriers.for_provider):
        httpx.put(
            f"{base}/_sim/faults",
            json={
                "carrier": "thingspace",
                "rate_limit_per_second": 0,
                "max_in_flight": 0,
                "error_rate": 0.1,
                "throttle_rate": 0.05,
                "retry_after_seconds": 0.05,
                "callback_drop_rate": 0.1,
                "callback_duplicate_rate": 0.2,
            },
        ).raise_for_status()
        kill_mid_way(sqlite_url, sqlite_engine, base, request_id, ("awaiting_callback", "completed"))

        deadline = time.monotonic() + 300
        later = datetime.now(UTC)
        while status(sqlite_engine, request_id).state not in ("completed", "completed_with_errors"):
            assert time.monotonic() < deadline, status(sqlite_engine, request_id)
            if status(sqlite_engine, request_id).state in ("pending", "running"):
                execute_request(sqlite_engine, request_id, carriers.for_provider, backoff_seconds=0.01)
            httpx.post(f"{base}/_sim/callbacks/flush", timeout=60)
            time.sleep(0.5)
            later += CALLBACK_TIMEOUT  # each pass, items still without their callback are overdue
            reconcile(sqlite_engine, carriers.for_provider, now=later)
        stored = callbacks_stored(sqlite_engine)

    final = status(sqlite_engine, request_id).items_by_state
    assert_settled_once(sqlite_engine, base, "plan", final)
    stats = httpx.get(f"{base}/_sim/callbacks", timeout=30).json()
    assert stored < stats["delivered"]  # duplicates arrived and were stored once
