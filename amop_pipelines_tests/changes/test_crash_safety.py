"""A change run killed with SIGKILL in the middle, then run again: nothing lost, nothing twice."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import CALLBACK_TIMEOUT, reconcile
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import approve, status, submit_file
from amop_pipelines.db.models import ChangeItem, ServiceProvider
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.simulator.server import start_simulator_process
from amop_pipelines_tests.changes.conftest import callbacks_stored, serving_receiver

FLEET, ITEMS = 6000, 2000


@pytest.fixture
def simulator_process():
    """The simulator in a process of its own, so that it outlives the killed run."""
    process, base, _ = start_simulator_process(FLEET, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield base
    process.terminate()
    process.wait(timeout=20)


def _kill_mid_way(sqlite_url: str, engine, base: str, request_id: str, done_states: tuple[str, ...]) -> None:
    """Run the request in a process of its own and SIGKILL it once a third of the items are done."""
    script = textwrap.dedent(
        f"""
        from amop_pipelines.changes.executor import execute_request
        from amop_pipelines.db.engine import make_engine
        from amop_pipelines.demo.carriers import simulator_carriers
        carriers = simulator_carriers({base!r})
        engine = make_engine({sqlite_url!r})
        execute_request(engine, {request_id!r}, carriers.for_provider, backoff_seconds=0.01)
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:
        with engine.connect() as connection:
            done = connection.scalar(
                sa.select(sa.func.count()).select_from(ChangeItem).where(ChangeItem.state.in_(done_states))
            )
        if done >= ITEMS // 3 or time.monotonic() > deadline or run.poll() is not None:
            break
        time.sleep(0.05)
    assert run.poll() is None, run.stderr.read().decode()[-2000:]
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert status(engine, request_id).items_by_state.get("completed", 0) < ITEMS  # it died mid-way


def _assert_settled_once(engine, base: str, operation: str, counts: dict[str, int]) -> None:
    """Every item completed or dead with a reason; the simulator applied none of them twice."""
    assert sum(counts.values()) == ITEMS and set(counts) <= {"completed", "dead"}, counts
    with engine.connect() as connection:
        reasons = connection.scalars(sa.select(ChangeItem.last_error).where(ChangeItem.state == "dead")).all()
    assert all(reasons)
    applied = [
        op["iccid"]
        for op in httpx.get(f"{base}/_sim/operations", timeout=30).json()
        if op["operation"] == operation
    ]
    assert len(applied) == len(set(applied))  # no item applied twice
    assert len(set(applied)) >= counts.get("completed", 0)


@pytest.mark.parametrize(
    "faults", [{}, {"error_rate": 0.1, "throttle_rate": 0.05, "retry_after_seconds": 0.05}]
)
def test_a_killed_run_run_again_applies_every_item_once(
    simulator_process, sqlite_url, sqlite_engine, tmp_path, faults
):
    base = simulator_process
    httpx.put(
        f"{base}/_sim/faults",
        json={"carrier": "jasper", "rate_limit_per_second": 0, "max_in_flight": 0, **faults},
    )
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
        rows = connection.execute(
            sa.text(
                "SELECT d.iccid, rp.plan_code FROM device d "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
                "WHERE cp.name IN ('CP-CORE', 'CP-TRACKER') ORDER BY d.iccid LIMIT :n"
            ),
            {"n": ITEMS},
        ).all()
    path = tmp_path / "changes.csv"
    path.write_text(
        "iccid,rate_plan\n"
        + "".join(f"{i},{'J-POOL-5MB' if p != 'J-POOL-5MB' else 'J-POOL-1MB'}\n" for i, p in rows)
    )
    request_id = submit_file(sqlite_engine, "change_carrier_rate_plan", path, "alice")
    approve(sqlite_engine, request_id, "bob")
    _kill_mid_way(sqlite_url, sqlite_engine, base, request_id, ("completed",))

    report = execute_request(
        sqlite_engine, request_id, simulator_carriers(base).for_provider, backoff_seconds=0.01
    )
    _assert_settled_once(sqlite_engine, base, "edit", report.counts)


def _other_allowed_plans(engine, integration: str, status: str, count: int) -> list[tuple[str, str]]:
    """(iccid, a plan its communication plan allows other than its own) for `count` devices."""
    with engine.connect() as connection:
        allowed = connection.execute(
            sa.text(
                "SELECT cprp.communication_plan_id, rp.optimization_group_id, rp.plan_code "
                "FROM communication_plan_rate_plan cprp "
                "JOIN carrier_rate_plan rp ON rp.id = cprp.carrier_rate_plan_id ORDER BY rp.plan_code"
            )
        ).all()
        devices = connection.execute(
            sa.text(
                "SELECT d.iccid, d.communication_plan_id, d.optimization_group_id, rp.plan_code "
                "FROM device d "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "JOIN service_provider sp ON sp.id = d.service_provider_id "
                "WHERE sp.integration = :i AND d.status = :s ORDER BY d.iccid"
            ),
            {"i": integration, "s": status},
        ).all()
    chosen = []
    for iccid, comm_plan, group, current in devices:
        others = [p for c, g, p in allowed if c == comm_plan and g == group and p != current]
        if others:
            chosen.append((iccid, others[0]))
    assert len(chosen) >= count, f"the fleet has {len(chosen)} such devices"
    return chosen[:count]


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
    rows = _other_allowed_plans(sqlite_engine, "thingspace", "active", ITEMS)
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
        _kill_mid_way(sqlite_url, sqlite_engine, base, request_id, ("awaiting_callback", "completed"))

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
    _assert_settled_once(sqlite_engine, base, "plan", final)
    stats = httpx.get(f"{base}/_sim/callbacks", timeout=30).json()
    assert stored < stats["delivered"]  # duplicates arrived and were stored once
