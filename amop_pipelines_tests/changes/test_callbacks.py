"""Asynchronous changes (ThingSpace): callbacks received with the secret, stored once, reconciled."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import reconcile
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import status, submit_file
from amop_pipelines.db.models import CarrierCallback, ChangeItem
from amop_pipelines.demo.carriers import simulator_carriers

from .conftest import CALLBACK_USERNAME, SECRET


@pytest.fixture
def world(async_world):
    w = async_world
    return w.sim, w.engine, w.client_for, w.tmp_path, w.callback_url


def _ts_file(engine, tmp_path, count: int, skip: int = 0):
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT d.iccid, rp.plan_code FROM device d "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
                "WHERE cp.name = 'TS-M2M' AND d.status = 'active' ORDER BY d.iccid LIMIT :n OFFSET :s"
            ),
            {"n": count, "s": skip},
        ).all()
    path = tmp_path / f"ts-{skip}.csv"
    path.write_text(
        "iccid,rate_plan\n"
        + "".join(
            f"{iccid},{'T-M2M-25MB' if plan != 'T-M2M-25MB' else 'T-M2M-2MB'}\n" for iccid, plan in rows
        )
    )
    return path, rows


def test_duplicated_and_reordered_callbacks_settle_each_item_once(world, async_world):
    sim, engine, client_for, tmp_path, _ = world
    path, _ = _ts_file(engine, tmp_path, 6)
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    sim.set_faults(
        "thingspace", callback_duplicate_rate=1.0, callback_reorder=True, callback_delay_seconds=60
    )
    report = execute_request(engine, request_id, client_for)
    assert report.state == "awaiting_callbacks" and report.counts == {"awaiting_callback": 6}
    sim.flush_callbacks()
    async_world.wait_for_callbacks(6)
    time.sleep(0.3)  # the duplicates arrive too
    with engine.connect() as connection:
        assert (
            connection.scalar(sa.select(sa.func.count()).select_from(CarrierCallback)) == 6
        )  # stored once each
    outcome = reconcile(engine, client_for)
    assert outcome.completed == 6
    assert status(engine, request_id).state == "completed"
    assert reconcile(engine, client_for).completed == 0  # nothing settles twice


def test_callbacks_without_the_password_are_refused_and_stored_nowhere(world):
    _, engine, _, _, url = world
    body = {
        "requestId": "x",
        "deviceIds": [{"id": "8914800000000000017", "kind": "iccid"}],
        "status": "Success",
    }
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body | {"username": CALLBACK_USERNAME}).status_code == 401
    assert (
        httpx.post(url, json=body | {"username": CALLBACK_USERNAME, "password": "wrong"}).status_code == 401
    )
    assert httpx.post(url, json=body | {"username": "someone", "password": SECRET}).status_code == 401
    assert httpx.post(f"{url}?token=wrong", json=body).status_code == 401
    assert httpx.post(url, content=b"not json").status_code == 401
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(CarrierCallback)) == 0


def test_callbacks_with_the_echoed_credentials_are_stored_without_them(world):
    _, engine, _, _, url = world
    body = {
        "requestId": "y",
        "deviceIds": [{"id": "8914800000000000017", "kind": "iccid"}],
        "status": "Success",
        "username": CALLBACK_USERNAME,
        "password": SECRET,
    }
    assert httpx.post(url, json=body).json() == {"stored": True}
    with engine.connect() as connection:
        payload = connection.scalar(sa.select(CarrierCallback.payload))
    assert payload["requestId"] == "y" and "password" not in payload and "username" not in payload


def test_a_pending_callback_is_not_a_failure(world, async_world):
    sim, engine, client_for, tmp_path, url = world
    path, _ = _ts_file(engine, tmp_path, 1, skip=30)
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    sim.set_faults("thingspace", callback_delay_seconds=60)  # the real outcome comes later
    execute_request(engine, request_id, client_for)
    with engine.connect() as connection:
        carrier_request, iccid = connection.execute(
            sa.select(ChangeItem.carrier_request_id, ChangeItem.iccid)
        ).one()
    pending = {
        "requestId": carrier_request,
        "deviceIds": [{"id": iccid, "kind": "iccid"}],
        "status": "Pending",
        "username": CALLBACK_USERNAME,
        "password": SECRET,
    }
    assert httpx.post(url, json=pending).json() == {"stored": True}
    outcome = reconcile(engine, client_for)
    assert (outcome.pending, outcome.failed) == (1, 0)
    assert status(engine, request_id).items_by_state == {"awaiting_callback": 1}
    sim.flush_callbacks()  # now the Success
    async_world.wait_for_callbacks(2)
    assert reconcile(engine, client_for).completed == 1
    assert status(engine, request_id).state == "completed"


def test_items_without_a_callback_in_time_are_checked_on_the_carrier(world):
    """Overdue items are read on the carrier: applied ones complete, one the carrier never applied
    is sent again by the next round (and completes when its callback comes)."""
    sim, engine, client_for, tmp_path, _ = world
    path, rows = _ts_file(engine, tmp_path, 3, skip=10)
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    sim.set_faults("thingspace", callback_drop_rate=1.0)
    execute_request(engine, request_id, client_for)
    assert reconcile(engine, client_for).completed == 0  # not yet overdue
    lost, lost_plan = rows[0]
    sim.change_device(lost, ratePlan=lost_plan)  # the carrier lost this one: still on its old plan
    outcome = reconcile(engine, client_for, now=datetime.now(UTC) + timedelta(minutes=31))
    assert outcome.rechecked == 3
    assert status(engine, request_id).items_by_state == {"completed": 2, "retry": 1}  # two applied
    with engine.connect() as connection:
        retry = connection.execute(sa.select(ChangeItem).where(ChangeItem.state == "retry")).one()
    assert (retry.iccid, retry.last_error) == (lost, "no callback in time")

    sim.set_faults("thingspace", callback_drop_rate=0.0)
    sent_before = sum(1 for op in sim.operations() if op["iccid"] == lost)
    execute_request(engine, request_id, client_for)  # the next round sends it again
    assert sum(1 for op in sim.operations() if op["iccid"] == lost) == sent_before + 1
    sim.flush_callbacks()
    for _ in range(50):
        reconcile(engine, client_for)
        if status(engine, request_id).items_by_state == {"completed": 3}:
            break
        time.sleep(0.1)
    assert status(engine, request_id).items_by_state == {"completed": 3}
    assert sim.device(lost)["ratePlan"] != lost_plan


def test_the_reconciliation_sensor_runs_when_callbacks_arrive(world, async_world, sqlite_url):
    import dagster as dg

    from amop_pipelines.db.models import Notification
    from amop_pipelines.defs.changes.jobs import reconcile_callbacks_job
    from amop_pipelines.defs.changes.sensors import callback_reconciliation_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.notifier import Notifier

    sim, engine, _, tmp_path, _ = world
    path, _ = _ts_file(engine, tmp_path, 2, skip=20)
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    database = AmopDatabase(url=sqlite_url)
    with dg.instance_for_test() as instance:
        execute_request(engine, request_id, simulator_carriers(sim.base_url).for_provider)
        sim.flush_callbacks()
        async_world.wait_for_callbacks(2)
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            result = callback_reconciliation_sensor(context)
        assert len(result.run_requests) == 1
        run = reconcile_callbacks_job.execute_in_process(
            instance=instance,
            resources={
                "amop_db": database,
                "carriers": simulator_carriers(sim.base_url),
                "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
            },
        )
        assert run.success and run.output_for_node("reconcile_carrier_callbacks") == 2
        with dg.build_sensor_context(
            instance=instance, resources={"amop_db": database}, cursor=result.cursor
        ) as context:
            assert not callback_reconciliation_sensor(context).run_requests  # nothing new, nothing waiting
    assert status(engine, request_id).state == "completed"
    with engine.connect() as connection:  # the request finished in the reconciliation: its summary went
        summary = connection.scalar(sa.select(Notification.subject).where(Notification.kind == "summary"))
    assert request_id in summary and "completed" in summary


def test_an_action_the_carrier_applied_but_never_answered_ends_applied_once(world):
    """ThingSpace actions are not idempotent: after a timeout the engine reads, never resends."""
    sim, engine, _, tmp_path, _ = world
    path, rows = _ts_file(engine, tmp_path, 3, skip=40)
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    sim.set_faults(
        "thingspace", route="/api/m2m/v1/devices/actions/plan", hang_after_rate=1.0, hang_seconds=2
    )
    impatient = simulator_carriers(sim.base_url, timeout_seconds=0.5)  # gives up before the answer
    report = execute_request(engine, request_id, impatient.for_provider, backoff_seconds=0.01)
    assert report.counts == {"completed": 3} and status(engine, request_id).state == "completed"
    for iccid, _ in rows:
        assert [op["operation"] for op in sim.operations() if op["iccid"] == iccid] == ["plan"]
