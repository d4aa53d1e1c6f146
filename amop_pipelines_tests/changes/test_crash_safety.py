"""A change run killed with SIGKILL in the middle, then run again: nothing lost, nothing twice."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import approve, status, submit_file
from amop_pipelines.db.models import ChangeItem, ServiceProvider
from amop_pipelines.defs.resources.carriers import CarrierClients
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines_tests.conftest import start_simulator_process

FLEET, ITEMS = 6000, 2000


@pytest.fixture
def simulator_process():
    """The simulator in a process of its own, so that it outlives the killed run."""
    process, base, _ = start_simulator_process(FLEET, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield base
    process.terminate()
    process.wait(timeout=20)


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
    script = textwrap.dedent(
        f"""
        from amop_pipelines.changes.executor import execute_request
        from amop_pipelines.db.engine import make_engine
        from amop_pipelines.defs.resources.carriers import CarrierClients
        carriers = CarrierClients(default_base_url={base!r})
        engine = make_engine({sqlite_url!r})
        execute_request(engine, {request_id!r}, carriers.for_provider, backoff_seconds=0.01)
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:  # kill it once a good part of the items is done
        with sqlite_engine.connect() as connection:
            done = connection.scalar(
                sa.select(sa.func.count()).select_from(ChangeItem).where(ChangeItem.state == "completed")
            )
        if done >= ITEMS // 3 or time.monotonic() > deadline or run.poll() is not None:
            break
        time.sleep(0.05)
    assert run.poll() is None, run.stderr.read().decode()[-2000:]
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert (
        status(sqlite_engine, request_id).items_by_state.get("completed", 0) < ITEMS
    )  # it really died mid-way

    report = execute_request(
        sqlite_engine, request_id, CarrierClients(default_base_url=base).for_provider, backoff_seconds=0.01
    )
    assert sum(report.counts.values()) == ITEMS
    assert set(report.counts) <= {"completed", "dead"}
    with sqlite_engine.connect() as connection:
        reasons = connection.scalars(sa.select(ChangeItem.last_error).where(ChangeItem.state == "dead")).all()
    assert all(reasons)
    applied = [
        op["iccid"]
        for op in httpx.get(f"{base}/_sim/operations", timeout=30).json()
        if op["operation"] == "edit"
    ]
    assert len(applied) == len(set(applied))  # no item applied twice
    assert len(set(applied)) >= report.counts.get("completed", 0)
