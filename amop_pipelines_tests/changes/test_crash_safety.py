"""A change run killed with SIGKILL in the middle, then run again: nothing lost, nothing twice."""

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import approve, submit_file
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines_tests.changes.crashes import (
    FLEET,
    ITEMS,
    assert_settled_once,
    kill_mid_way,
    past_the_approval_threshold,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.usefixtures("past_the_approval_threshold")


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
    kill_mid_way(sqlite_url, sqlite_engine, base, request_id, ("completed",))

    report = execute_request(
        sqlite_engine, request_id, simulator_carriers(base).for_provider, backoff_seconds=0.01
    )
    assert_settled_once(sqlite_engine, base, "edit", report.counts)
