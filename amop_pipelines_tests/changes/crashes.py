"""What the crash tests share: the simulator in a process of its own, a run killed mid-way, and
the check that every item settled once."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.requests import status
from amop_pipelines.db.models import ChangeItem

FLEET, ITEMS = 2500, 400  # enough to kill a run mid-way


@pytest.fixture
def past_the_approval_threshold(monkeypatch) -> None:
    """The crash tests' requests wait for an approval, as large ones do (the default threshold is
    1,000 devices; these requests are smaller, to keep the suite quick)."""
    monkeypatch.setenv("AMOP_APPROVAL_THRESHOLD", str(ITEMS - 100))


def kill_mid_way(sqlite_url: str, engine, base: str, request_id: str, done_states: tuple[str, ...]) -> None:
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


def assert_settled_once(engine, base: str, operation: str, counts: dict[str, int]) -> None:
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


def other_allowed_plans(engine, integration: str, status: str, count: int) -> list[tuple[str, str]]:
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
