"""Each change type from CSV to completed items over real HTTP, its effects in the AMOP database and
audit trail, and each business rule refusing what it must."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import reconcile
from amop_pipelines.changes.cost_impact import cost_impact
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import (
    RejectedFile,
    approve,
    audit_trail,
    rollback_request,
    status,
    submit_file,
)
from amop_pipelines.db.models import (
    ChangeItem,
    CustomerRatePlan,
    CustomerRatePool,
    Device,
)
from amop_pipelines.identifiers import with_luhn_digits
from amop_pipelines_tests.changes.conftest import assert_audited

ARABIC_INDIC = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
JASPER_ACTIVE = "SELECT iccid FROM device WHERE status = 'ACTIVATED' ORDER BY iccid LIMIT :n"
NO_CUSTOMER = "SELECT iccid FROM device WHERE customer_id IS NULL ORDER BY iccid LIMIT :n"
CORE_PLANS = (
    "SELECT d.iccid, rp.plan_code FROM device d JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
    "JOIN communication_plan cp ON cp.id = d.communication_plan_id WHERE cp.name = 'CP-CORE' "
)
TS_ACTIVE = (
    "SELECT d.iccid, d.imei, rp.plan_code FROM device d "
    "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
    "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
    "WHERE cp.name = 'TS-M2M' AND d.status = 'active' ORDER BY d.iccid LIMIT :n OFFSET :s"
)


def _rows(engine, sql: str, n: int, s: int = 0):
    with engine.connect() as connection:
        return connection.execute(sa.text(sql), {"n": n, "s": s}).all()


def _file(tmp_path, name: str, body: str):
    path = tmp_path / f"{name}.csv"
    path.write_text(body)
    return path


def _device(engine, **where) -> Device:
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(Device).filter_by(**where)).one()


def _refused(engine, tmp_path, change_type: str, body: str, field: str, words: str, by: str = "alice"):
    path = _file(tmp_path, "bad", body)
    before = _stored(engine)
    with pytest.raises(RejectedFile) as caught:
        submit_file(engine, change_type, path, by)
    lines = str(caught.value).splitlines()
    assert any(f":2: {field}: " in line and words in line for line in lines), lines
    assert _stored(engine) == before  # nothing stored


def _stored(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(sa.text("SELECT count(*) FROM change_request")),
            connection.scalar(sa.text("SELECT count(*) FROM change_item")),
        )


def _settle_async(world, request_id: str, rounds: int = 8):
    """Rounds of the request and reconciliations, as the sensors would launch them."""
    for _ in range(rounds):
        state = status(world.engine, request_id).state
        if state in ("completed", "completed_with_errors"):
            break
        if state == "pending":
            execute_request(world.engine, request_id, world.client_for)
        world.sim.flush_callbacks()
        waiting = sum(
            1
            for _ in world.engine.connect().execute(
                sa.select(ChangeItem.id).where(ChangeItem.state == "awaiting_callback")
            )
        )
        world.wait_for_callbacks(_callbacks(world.engine) + waiting)
        reconcile(world.engine, world.client_for)
    return status(world.engine, request_id)


def _callbacks(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM carrier_callback"))


def _new_imei(seed: int) -> str:
    return str(with_luhn_digits(np.array([35_000_000_000_000 + seed]), 14)[0])


# ---- Update Device Status -------------------------------------------------------------------------


def test_status_changes_reach_the_carrier_and_are_stored_in_its_vocabulary(async_world, monkeypatch):
    w = async_world
    ((ts_iccid, _, _),) = _rows(w.engine, TS_ACTIVE, 1)
    request_id = submit_file(
        w.engine,
        "update_device_status",
        _file(w.tmp_path, "s", f"iccid,status\n{ts_iccid},Suspended\n"),
        "bob",
    )
    assert _settle_async(w, request_id).items_by_state == {"completed": 1}
    assert_audited(w.engine, request_id, "bob")
    assert _device(w.engine, iccid=ts_iccid).status == "suspend"  # as the next sync will say it
    assert w.sim.device(ts_iccid)["status"] == "suspend"
    trail = audit_trail(w.engine, request_id)
    assert any("awaiting callback" in line for line in trail) and any("completed" in line for line in trail)

    # Inactive is critical: it waits for someone else's approval, then runs on Jasper synchronously
    jasper = _rows(w.engine, JASPER_ACTIVE, 1)
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "1")
    request_id = submit_file(
        w.engine,
        "update_device_status",
        _file(w.tmp_path, "j", f"iccid,status\n{jasper[0][0]},Inactive\n"),
        "bob",
    )
    assert status(w.engine, request_id).state == "awaiting_approval"
    approve(w.engine, request_id, "carol")
    assert execute_request(w.engine, request_id, w.client_for).counts == {"completed": 1}
    assert _device(w.engine, iccid=jasper[0][0]).status == "DEACTIVATED"


def test_status_rules_follow_each_carriers_transitions(world):
    _, engine, _, tmp_path = world
    ((ts_iccid, _, _),) = _rows(engine, TS_ACTIVE, 1)
    jasper = _rows(engine, "SELECT iccid FROM device WHERE status = 'ACTIVATED' ORDER BY iccid LIMIT :n", 1)[
        0
    ][0]
    _refused(
        engine,
        tmp_path,
        "update_device_status",
        f"iccid,status\n{ts_iccid},Pending\n",
        "status",
        "has no 'Pending' status",
    )
    _refused(
        engine,
        tmp_path,
        "update_device_status",
        f"iccid,status\n{jasper},Suspended\n",
        "status",
        "has no 'Suspended' status",
    )
    _refused(
        engine,
        tmp_path,
        "update_device_status",
        f"iccid,status\n{jasper},Active\n",
        "status",
        "already Active",
    )
    _refused(
        engine,
        tmp_path,
        "update_device_status",
        f"iccid,status\n{jasper},Pending\n",
        "status",
        "does not move a device from ACTIVATED to Pending",
    )


def test_a_status_the_carrier_refuses_at_run_time_fails_the_item_with_its_reason(world):
    sim, engine, client_for, tmp_path = world
    jasper = _rows(engine, "SELECT iccid FROM device WHERE status = 'ACTIVATED' ORDER BY iccid LIMIT :n", 1)[
        0
    ][0]
    request_id = submit_file(
        engine, "update_device_status", _file(tmp_path, "r", f"iccid,status\n{jasper},Inactive\n"), "bob"
    )
    approve(engine, request_id, "carol")
    sim.change_device(jasper, status="RETIRED")  # changed on the carrier since AMOP's last sync
    report = execute_request(engine, request_id, client_for)
    assert report.counts == {"failed": 1} and report.state == "completed_with_errors"
    assert "cannot change from RETIRED" in report.failures[0][1]
    assert _device(engine, iccid=jasper).status == "ACTIVATED"  # nothing stored for a refused change


# ---- Change ICCID/IMEI ------------------------------------------------------------------------------


def test_an_identifier_change_walks_restore_delete_spare_swap_and_read_back(async_world, monkeypatch):
    """ThingSpace changes identifiers of active devices only, to SIMs it does not know: a suspended
    device is restored first, a deactivated spare SIM deleted, then the swap carries the plan."""
    w = async_world
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "1")
    w.sim.set_faults("thingspace", callback_duplicate_rate=1.0)
    (iccid, old_imei, plan), (spare, _, _) = _rows(w.engine, TS_ACTIVE, 2, 8)
    with w.engine.begin() as connection:  # a suspended device; a spare on no customer
        connection.execute(sa.update(Device).where(Device.iccid == iccid).values(status="suspend"))
        connection.execute(
            sa.update(Device).where(Device.iccid == spare).values(status="deactive", customer_id=None)
        )
    w.sim.change_device(iccid, status="suspend")
    w.sim.change_device(spare, status="deactive", customer=None)
    target_plan = "T-M2M-25MB" if plan != "T-M2M-25MB" else "T-M2M-2MB"
    new_imei = _new_imei(1)
    body = f"iccid,new_iccid,new_imei,service_plan\n{iccid},{spare},{new_imei},{target_plan}\n"
    request_id = submit_file(w.engine, "change_iccid_imei", _file(w.tmp_path, "swap", body), "bob")
    assert status(w.engine, request_id).state == "awaiting_approval"  # identifiers are critical
    approve(w.engine, request_id, "carol")

    assert _settle_async(w, request_id).items_by_state == {"completed": 1}
    assert_audited(w.engine, request_id, "bob")
    device = _device(w.engine, iccid=spare)
    assert (device.imei, device.status) == (new_imei, "active")
    assert w.sim.device(spare)["ratePlan"] == target_plan
    with w.engine.connect() as connection:
        item = connection.execute(sa.select(ChangeItem)).one()
        code = connection.scalar(
            sa.text("SELECT plan_code FROM carrier_rate_plan WHERE id = :i"),
            {"i": device.carrier_rate_plan_id},
        )
        rows = connection.execute(sa.select(Device.id).where(Device.iccid.in_([iccid, spare]))).all()
    assert code == target_plan and len(rows) == 1  # one device, now on the spare SIM
    assert item.steps == ["restore", "delete_spare", "change_identifier", "read_back"]
    assert item.previous_values["iccid"] == iccid and item.previous_values["imei"] == old_imei
    operations = [op["operation"] for op in w.sim.operations() if op["iccid"] in (iccid, spare)]
    assert operations == ["restore", "delete", "deviceId"]  # each once, though callbacks came twice
    assert any("activation complete" in line for line in audit_trail(w.engine, request_id))


def test_a_refused_identifier_change_leaves_the_device_suspended_as_it_was(async_world, monkeypatch):
    """The walk restored a suspended device, then the carrier refused the swap: the engine suspends
    it again, at the carrier and in AMOP, audits the undo, and the item fails with the reason."""
    w = async_world
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "1")
    ((iccid, old_imei, _),) = _rows(w.engine, TS_ACTIVE, 1, 3)
    with w.engine.begin() as connection:
        connection.execute(sa.update(Device).where(Device.iccid == iccid).values(status="suspend"))
    w.sim.change_device(iccid, status="suspend")
    w.sim.set_faults("thingspace", identifier_service_type="4G")  # the account's setting says "lte"
    body = f"iccid,new_imei\n{iccid},{_new_imei(7)}\n"
    request_id = submit_file(w.engine, "change_iccid_imei", _file(w.tmp_path, "swap", body), "bob")
    approve(w.engine, request_id, "carol")

    report = _settle_async(w, request_id)
    assert report.items_by_state == {"failed": 1}
    w.sim.flush_callbacks()
    assert w.sim.device(iccid)["status"] == "suspend"  # suspended again at the carrier
    device = _device(w.engine, iccid=iccid)
    assert (device.status, device.imei) == ("suspend", old_imei)  # and in AMOP, identifiers unchanged
    with w.engine.connect() as connection:
        item = connection.execute(sa.select(ChangeItem)).one()
    assert item.last_error.startswith("change_identifier: ") and "unknown serviceType" in item.last_error
    assert item.last_error.endswith("undone: the device was suspended again, as it was before the change")
    assert any("undo: the device was suspended again" in line for line in audit_trail(w.engine, request_id))
    operations = [op["operation"] for op in w.sim.operations() if op["iccid"] == iccid]
    assert operations == ["restore", "suspend"]


def test_identifiers_change_in_amop_only_when_the_carrier_confirms(async_world, monkeypatch):
    w = async_world
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "0")
    monkeypatch.setenv("AMOP_ALLOW_UNAPPROVED_CRITICAL", "true")  # critical types run unapproved
    ((iccid, old_imei, _),) = _rows(w.engine, TS_ACTIVE, 1, 1)
    w.sim.set_faults("thingspace", callback_fail_rate=1.0)
    body = f"iccid,new_imei\n{iccid},{_new_imei(2)}\n"
    request_id = submit_file(w.engine, "change_iccid_imei", _file(w.tmp_path, "imei", body), "bob")
    final = _settle_async(w, request_id)
    assert final.items_by_state == {"failed": 1}
    with w.engine.connect() as connection:
        why = connection.scalar(sa.select(ChangeItem.last_error))
    assert why.startswith("change_identifier: carrier callback: REQUEST_FAILED.UnexpectedError")
    assert _device(w.engine, iccid=iccid).imei == old_imei

    w.sim.set_faults("thingspace", callback_fail_rate=0.0)  # an IMEI alone, no suspension: two steps
    ((iccid, _, _),) = _rows(w.engine, TS_ACTIVE, 1, 2)
    body = f"iccid,new_imei\n{iccid},{_new_imei(3)}\n"
    request_id = submit_file(w.engine, "change_iccid_imei", _file(w.tmp_path, "imei2", body), "bob")
    assert _settle_async(w, request_id).items_by_state == {"completed": 1}
    assert _device(w.engine, iccid=iccid).imei == _new_imei(3)


def test_identifier_rules(world):
    _, engine, _, tmp_path = world
    (iccid, imei, _), (other, _, _) = _rows(engine, TS_ACTIVE, 2)
    jasper = _rows(engine, "SELECT iccid FROM device WHERE status = 'ACTIVATED' ORDER BY iccid LIMIT :n", 1)[
        0
    ][0]
    new = "8914800000099000025"
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid\n{jasper},{new}\n",
        "iccid",
        "no identifier change API",
    )
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid\n{iccid},{other}\n",
        "new_iccid",
        f"the new SIM '{other}' is in use",
    )
    # the same SIM written in Arabic-Indic digits is no ICCID at all, not a new SIM
    arabic = str.maketrans("0123456789", ARABIC_INDIC)
    look_alike = other[:2] + other[2:].translate(arabic)
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid\n{iccid},{look_alike}\n",
        "new_iccid",
        "must be digits 0-9",
    )
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_imei\n{iccid},{_new_imei(3).translate(arabic)}\n",
        "new_imei",
        "must be digits 0-9",
    )
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid\n{iccid},{iccid}\n",
        "new_iccid",
        "is the device's ICCID already",
    )
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_imei\n{iccid},{imei}\n",
        "new_imei",
        "is the device's IMEI already",
    )
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid,service_plan\n{iccid},{new},J-PAYG\n",
        "service_plan",
        "unknown rate plan 'J-PAYG'",
    )
    with engine.begin() as connection:
        connection.execute(sa.update(Device).where(Device.iccid == iccid).values(status="deactive"))
    _refused(
        engine,
        tmp_path,
        "change_iccid_imei",
        f"iccid,new_iccid\n{iccid},{new}\n",
        "iccid",
        "identifiers change only on an active or suspended one",
    )


def test_a_spare_sim_the_account_knows_becomes_the_devices_new_sim(async_world, monkeypatch):
    w = async_world
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "0")
    monkeypatch.setenv("AMOP_ALLOW_UNAPPROVED_CRITICAL", "true")  # critical types run unapproved
    (iccid, _, _), (spare, _, _) = _rows(w.engine, TS_ACTIVE, 2, 5)
    for where in (w.engine,):  # the spare: deactivated, on no customer, here and on the carrier
        with where.begin() as connection:
            connection.execute(
                sa.update(Device).where(Device.iccid == spare).values(status="deactive", customer_id=None)
            )
    w.sim.change_device(spare, status="deactive", customer=None)
    request_id = submit_file(
        w.engine,
        "change_iccid_imei",
        _file(w.tmp_path, "spare", f"iccid,new_iccid\n{iccid},{spare}\n"),
        "bob",
    )
    assert _settle_async(w, request_id).items_by_state == {"completed": 1}
    with w.engine.connect() as connection:
        rows = connection.execute(sa.select(Device.id).where(Device.iccid.in_([iccid, spare]))).all()
    assert len(rows) == 1  # one device, now on the spare SIM


# ---- Change Customer Rate Plan ----------------------------------------------------------------------


CUSTOMER_POOLS = (
    "SELECT d.iccid, EXISTS (SELECT 1 FROM customer_rate_pool p WHERE p.customer_id = d.customer_id) "
    "FROM device d WHERE d.customer_id IS NOT NULL ORDER BY d.iccid LIMIT :n"
)


def _customer_device(engine, pooled_customer: bool) -> str:
    return next(
        iccid for iccid, pooled in _rows(engine, CUSTOMER_POOLS, 400) if bool(pooled) == pooled_customer
    )


def test_a_customer_plan_on_its_effective_date_through_the_sensor(world, sqlite_url, monkeypatch):
    import dagster as dg

    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.changes.sensors import effective_dates_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.notifier import Notifier
    from amop_pipelines.demo.carriers import simulator_carriers

    sim, engine, client_for, tmp_path = world
    iccid = _customer_device(engine, pooled_customer=False)
    tomorrow = date.today() + timedelta(days=2)
    body = f"iccid,customer_rate_plan,effective_date,data_allocation_mb\n{iccid},PREMIUM,{tomorrow},250.5\n"
    request_id = submit_file(engine, "change_customer_rate_plan", _file(tmp_path, "cust", body), "bob")
    report = execute_request(engine, request_id, client_for)
    assert report.state == "scheduled" and report.counts == {"scheduled": 1}
    database = AmopDatabase(url=sqlite_url)
    resources = {
        "amop_db": database,
        "carriers": simulator_carriers(sim.base_url),
        "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
    }
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            assert not effective_dates_sensor(context).run_requests  # not yet
        with engine.begin() as connection:  # the effective date comes
            connection.execute(
                sa.update(ChangeItem).values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            (run_request,) = effective_dates_sensor(context).run_requests
        assert run_request.run_key == f"{request_id}:round-2"
        result = change_request_job.execute_in_process(
            run_config=run_request.run_config, instance=instance, resources=resources
        )
        assert result.success and result.output_for_node("finish_change_round") == "completed"
    device = _device(engine, iccid=iccid)
    with sa.orm.Session(engine) as session:
        plan = session.get(CustomerRatePlan, device.customer_rate_plan_id)
        pool = session.get(CustomerRatePool, device.customer_rate_pool_id)
    assert plan.plan_code == "PREMIUM" and plan.is_pooled
    assert pool.customer_id == device.customer_id and pool.customer_rate_plan_id == plan.id  # made for it
    assert device.customer_data_allocation_mb == Decimal("250.5")


def test_customer_plan_rules(world):
    _, engine, _, tmp_path = world
    iccid = _customer_device(engine, pooled_customer=True)
    loose = _rows(engine, "SELECT iccid FROM device WHERE customer_id IS NULL ORDER BY iccid LIMIT :n", 1)[0][
        0
    ]
    yesterday = date.today() - timedelta(days=3)
    _refused(
        engine,
        tmp_path,
        "change_customer_rate_plan",
        f"iccid,customer_rate_plan\n{loose},BASIC\n",
        "iccid",
        "has no customer",
    )
    _refused(
        engine,
        tmp_path,
        "change_customer_rate_plan",
        f"iccid,customer_rate_plan\n{iccid},GOLD\n",
        "customer_rate_plan",
        "unknown customer rate plan 'GOLD'",
    )
    _refused(
        engine,
        tmp_path,
        "change_customer_rate_plan",
        f"iccid,customer_rate_plan,effective_date\n{iccid},BASIC,{yesterday}\n",
        "effective_date",
        "is in the past",
    )
    for amount, words in (
        ("-5", "is not a number of MB"),
        ("NaN", "is not a number of MB"),
        ("Infinity", "is not a number of MB"),
        ("1e400", "is more than 1,000,000,000 MB"),  # was stored as Inf (SQLite), overflowed PostgreSQL
        ("1000000000.5", "is more than 1,000,000,000 MB"),
        ("0.0000001", "has more than 6 decimal places"),
    ):
        _refused(
            engine,
            tmp_path,
            "change_customer_rate_plan",
            f"iccid,customer_rate_plan,data_allocation_mb\n{iccid},BASIC,{amount}\n",
            "data_allocation_mb",
            words,
        )


# ---- Change Carrier Rate Plan: a rollback from the request ------------------------------------------


def test_a_rate_plan_request_rolls_back_to_each_devices_previous_plan(world):
    sim, engine, client_for, tmp_path = world
    devices = _rows(
        engine,
        CORE_PLANS + "AND rp.plan_code != 'J-POOL-20MB' AND d.status = 'ACTIVATED' ORDER BY d.iccid LIMIT :n",
        3,
    )
    body = "iccid,rate_plan\n" + "".join(f"{iccid},J-POOL-20MB\n" for iccid, _ in devices)
    request_id = submit_file(engine, "change_carrier_rate_plan", _file(tmp_path, "plans", body), "bob")
    assert execute_request(engine, request_id, client_for).counts == {"completed": 3}
    assert_audited(engine, request_id, "bob")
    at = datetime.now(UTC)  # usage is projected from the clock: price both at one instant
    impact = cost_impact(engine, request_id, now=at)  # the month recalculated on the new plans
    assert impact.devices == 3 and impact.change != 0
    back = rollback_request(engine, request_id, "bob")
    assert execute_request(engine, back, client_for).counts == {"completed": 3}
    assert {iccid: sim.device(iccid)["ratePlan"] for iccid, _ in devices} == dict(devices)
    undone = cost_impact(engine, back, now=at)  # back where it was, to the cent
    assert (undone.before, undone.after) == (impact.after, impact.before)


def test_carrier_plan_rules(world):
    _, engine, _, tmp_path = world
    iccid, plan = _rows(
        engine,
        CORE_PLANS + "ORDER BY d.iccid LIMIT :n",
        1,
    )[0]
    _refused(
        engine,
        tmp_path,
        "change_carrier_rate_plan",
        f"iccid,rate_plan\n{iccid},{plan}\n",
        "rate_plan",
        "the device is already on",
    )
    _refused(
        engine,
        tmp_path,
        "change_carrier_rate_plan",
        f"iccid,rate_plan\n{iccid},T-M2M-2MB\n",
        "rate_plan",
        "unknown rate plan 'T-M2M-2MB' at the device's carrier",
    )


def test_one_plan_change_at_a_time_and_no_more_than_the_carriers_monthly_limit(world):
    """A device with a plan change under way takes no second one; a ThingSpace device that had 4
    plan changes in the billing period takes no fifth (Jasper has no such limit)."""
    _, engine, _, tmp_path = world
    ts_iccid, _, ts_plan = _rows(engine, TS_ACTIVE, 1)[0]
    other_ts_plan = "T-M2M-25MB" if ts_plan != "T-M2M-25MB" else "T-M2M-250MB"
    first = submit_file(
        engine,
        "change_carrier_rate_plan",
        _file(tmp_path, "one", f"iccid,rate_plan\n{ts_iccid},{other_ts_plan}\n"),
        "al",
    )
    _refused(
        engine,
        tmp_path,
        "change_carrier_rate_plan",
        f"iccid,rate_plan\n{ts_iccid},{other_ts_plan}\n",
        "iccid",
        f"a plan change is already under way (request {first})",
    )
    with engine.begin() as connection:  # the period's fourth completed change
        connection.execute(sa.update(ChangeItem).values(state="completed", completed_at=datetime.now(UTC)))
        request_pk = connection.scalar(sa.text("SELECT id FROM change_request"))
        for n in range(3):
            connection.execute(
                sa.insert(ChangeItem).values(
                    change_request_id=request_pk,
                    row_number=n + 2,
                    iccid=ts_iccid,
                    device_id=_device(engine, iccid=ts_iccid).id,
                    parameters={"rate_plan": other_ts_plan},
                    state="completed",
                    idempotency_key=f"earlier-{n}",
                    completed_at=datetime.now(UTC) - timedelta(hours=n + 1),
                )
            )
    _refused(
        engine,
        tmp_path,
        "change_carrier_rate_plan",
        f"iccid,rate_plan\n{ts_iccid},{ts_plan}\n",
        "iccid",
        "4 plan changes in this billing period already, the carrier's limit is 4",
    )
    jasper_iccid, jasper_plan = _rows(engine, CORE_PLANS + "ORDER BY d.iccid LIMIT :n", 1)[0]
    jasper_device = _device(engine, iccid=jasper_iccid).id
    with engine.begin() as connection:  # Jasper: 4 changes this period, and no limit
        for n in range(4):
            connection.execute(
                sa.insert(ChangeItem).values(
                    change_request_id=request_pk,
                    row_number=n + 10,
                    iccid=jasper_iccid,
                    device_id=jasper_device,
                    parameters={"rate_plan": jasper_plan},
                    state="completed",
                    idempotency_key=f"jasper-{n}",
                    completed_at=datetime.now(UTC) - timedelta(hours=n + 1),
                )
            )
    other = "J-POOL-20MB" if jasper_plan != "J-POOL-20MB" else "J-POOL-5MB"
    assert submit_file(
        engine,
        "change_carrier_rate_plan",
        _file(tmp_path, "j", f"iccid,rate_plan\n{jasper_iccid},{other}\n"),
        "al",
    )


# ---- Archive Device and Assign Customer ---------------------------------------------------------------


def test_archiving_is_refused_while_a_billing_service_is_active(world, monkeypatch):
    _, engine, client_for, tmp_path = world
    monkeypatch.setenv("AMOP_ARCHIVERS", "admin")
    loose = _rows(engine, "SELECT iccid FROM device WHERE customer_id IS NULL ORDER BY iccid LIMIT :n", 1)[0][
        0
    ]
    body = f"iccid,customer_id,site_id,customer_rate_plan\n{loose},CUST-002,Site A,BASIC\n"
    request_id = submit_file(engine, "assign_customer", _file(tmp_path, "assign", body), "bob")
    assert execute_request(engine, request_id, client_for).counts == {"completed": 1}
    _refused(
        engine, tmp_path, "archive_device", f"iccid\n{loose}\n", "iccid", "active billing service", by="admin"
    )


def test_moving_a_device_to_another_customer_ends_its_previous_billing_service(world, monkeypatch):
    """A device has at most one active billing service: the new customer's. The previous one ends
    (status ended, end date today) and, once no service is active, archiving is allowed again."""
    from amop_pipelines.db.models import BillingService, Customer

    _, engine, client_for, tmp_path = world
    monkeypatch.setenv("AMOP_ARCHIVERS", "admin")
    loose = _rows(engine, NO_CUSTOMER, 1)[0][0]
    for customer in ("CUST-002", "CUST-001"):
        body = f"iccid,customer_id\n{loose},{customer}\n"
        request_id = submit_file(engine, "assign_customer", _file(tmp_path, customer, body), "bob")
        assert execute_request(engine, request_id, client_for).counts == {"completed": 1}
    device = _device(engine, iccid=loose)
    with engine.connect() as connection:
        services = connection.execute(
            sa.select(Customer.external_id, BillingService.status, BillingService.end_date)
            .join(Customer, Customer.id == BillingService.customer_id)
            .where(BillingService.device_id == device.id)
            .order_by(BillingService.id)
        ).all()
    assert [tuple(s) for s in services] == [("CUST-002", "ended", date.today()), ("CUST-001", "active", None)]
    _refused(engine, tmp_path, "archive_device", f"iccid\n{loose}\n", "iccid", "active billing", by="admin")
    with engine.begin() as connection:  # the new customer's service ends too (billing, outside AMOP)
        connection.execute(
            sa.update(BillingService)
            .where(BillingService.device_id == device.id)
            .values(status="ended", end_date=date.today())
        )
        connection.execute(sa.text("DELETE FROM device_usage WHERE device_id = :d"), {"d": device.id})
    archive = submit_file(engine, "archive_device", _file(tmp_path, "archive", f"iccid\n{loose}\n"), "admin")
    approve(engine, archive, "carol")
    assert execute_request(engine, archive, client_for).counts == {"completed": 1}
    assert _device(engine, iccid=loose).is_archived
