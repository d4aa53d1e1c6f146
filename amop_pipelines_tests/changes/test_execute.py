"""Executing change requests against the simulator over real HTTP."""

import threading
from dataclasses import replace

import sqlalchemy as sa

from amop_pipelines.carriers.policy import CircuitBreaker
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import submit_file
from amop_pipelines.db.models import AuditLog, ChangeItem, Device, ServiceProvider
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines_tests.changes.conftest import assert_audited

PLAN_OF_DEVICE = (
    "SELECT d.iccid, rp.plan_code, d.id FROM device d "
    "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
    "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
)


def _jasper_devices(engine, count: int) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                PLAN_OF_DEVICE
                + "WHERE cp.name = 'CP-CORE' AND d.status = 'ACTIVATED' ORDER BY d.iccid LIMIT :n"
            ),
            {"n": count},
        ).all()


def _plans(engine) -> dict[str, str]:
    with engine.connect() as connection:
        return {iccid: code for iccid, code, _ in connection.execute(sa.text(PLAN_OF_DEVICE))}


def _plan_file(tmp_path, devices) -> str:
    path = tmp_path / "plans.csv"
    path.write_text(
        "iccid,rate_plan\n"
        + "".join(
            f"{iccid},{'J-POOL-20MB' if plan != 'J-POOL-20MB' else 'J-POOL-5MB'}\n"
            for iccid, plan, _ in devices
        )
    )
    return path


def test_rate_plan_changes_complete_on_the_carrier_and_in_the_database(world):
    sim, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 12)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    report = execute_request(engine, request_id, client_for)
    assert report.state == "completed" and report.counts == {"completed": 12}
    applied = [op for op in sim.operations() if op["operation"] == "edit"]
    assert sorted(op["iccid"] for op in applied) == sorted(d[0] for d in devices)  # each once
    codes = _plans(engine)
    with engine.connect() as connection:
        actions = connection.scalars(
            sa.select(AuditLog.action).where(AuditLog.request_id == request_id)
        ).all()
    for iccid, plan, _ in devices:
        assert codes[iccid] == ("J-POOL-20MB" if plan != "J-POOL-20MB" else "J-POOL-5MB")
        assert sim.device(iccid)["ratePlan"] == codes[iccid]
    assert actions.count("attempt") == 12 and actions.count("completed") == 12


def test_with_faults_every_item_ends_completed_or_dead_with_a_reason(world):
    sim, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 20)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    sim.set_faults(
        "jasper", route="/rws/api/v1/devices/", error_rate=0.5, rate_limit_per_second=0, max_in_flight=0
    )
    report = execute_request(engine, request_id, client_for, max_attempts=3, backoff_seconds=0.01)
    assert sum(report.counts.values()) == 20
    assert set(report.counts) <= {"completed", "dead"}
    with engine.connect() as connection:
        dead = (
            connection.execute(sa.select(ChangeItem.last_error).where(ChangeItem.state == "dead"))
            .scalars()
            .all()
        )
    assert all(reason and "gave up after" in reason for reason in dead)
    applied = [op["iccid"] for op in sim.operations() if op["operation"] == "edit"]
    assert len(applied) == len(set(applied))  # nothing applied twice


def test_a_run_that_died_during_a_call_does_not_send_it_again(world):
    sim, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 3)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    # the carrier applied the first item, then the run was killed before recording it
    first_iccid, first_plan, _ = devices[0]
    target = "J-POOL-20MB" if first_plan != "J-POOL-20MB" else "J-POOL-5MB"
    client = client_for(
        sa.orm.Session(engine).scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
    )
    client.change_rate_plan(first_iccid, target, idempotency_key="crashed-run")
    with engine.begin() as connection:
        connection.execute(
            sa.update(ChangeItem)
            .where(ChangeItem.iccid == first_iccid)
            .values(state="in_progress", attempts=1, steps=["change"], step="change")  # as the engine left it
        )
    report = execute_request(engine, request_id, client_for)
    assert report.counts == {"completed": 3}
    applied = [op["iccid"] for op in sim.operations() if op["operation"] == "edit"]
    assert applied.count(first_iccid) == 1  # found applied, not sent again
    assert _plans(engine)[first_iccid] == target


def test_the_sensor_launches_one_run_per_pending_request_and_the_run_executes_it(world, sqlite_url):
    import dagster as dg

    from amop_pipelines.changes.requests import status
    from amop_pipelines.db.models import Notification
    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.changes.sensors import change_requests_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.notifier import Notifier

    sim, engine, _, tmp_path = world
    devices = _jasper_devices(engine, 4)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    database = AmopDatabase(url=sqlite_url)
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            first = change_requests_sensor(context)
        (request,) = first.run_requests
        assert request.run_key == request_id
        result = change_request_job.execute_in_process(
            run_config=request.run_config,
            instance=instance,
            resources={
                "amop_db": database,
                "carriers": simulator_carriers(sim.base_url),
                "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
            },
        )
        assert result.success and result.output_for_node("finish_change_round") == "completed"
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            assert not change_requests_sensor(context).run_requests  # nothing pending any more
    assert status(engine, request_id).items_by_state == {"completed": 4}
    with engine.connect() as connection:
        subject, body = connection.execute(
            sa.select(Notification.subject, Notification.body).where(Notification.kind == "summary")
        ).one()
    assert request_id in subject and "completed" in subject
    assert "Monthly cost" in body and "4 devices changed" in body  # the cost recalculated


def _run_file(world, change_type: str, body: str, requested_by: str = "alice"):
    _, engine, client_for, tmp_path = world
    path = tmp_path / f"{change_type}.csv"
    path.write_text(body)
    request_id = submit_file(engine, change_type, path, requested_by)
    report = execute_request(engine, request_id, client_for)
    assert_audited(engine, request_id, requested_by)
    return request_id, report


def test_assign_customer_sets_customer_site_plan_and_one_billing_service(world):
    from amop_pipelines.db.models import BillingService, Customer

    sim, engine, _, _ = world
    iccid = _jasper_devices(engine, 1)[0][0]
    _, report = _run_file(
        world,
        "assign_customer",
        f"iccid,customer_id,site_id,customer_rate_plan\n{iccid},CUST-003,Site A,PREMIUM\n",
    )
    assert report.counts == {"completed": 1}
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(Customer.external_id, Device.site_id, Device.customer_rate_plan_id)
            .join(Customer, Customer.id == Device.customer_id)
            .where(Device.iccid == iccid)
        ).one()
        services = connection.execute(
            sa.select(BillingService).where(
                BillingService.device_id
                == sa.select(Device.id).where(Device.iccid == iccid).scalar_subquery()
            )
        ).all()
    assert row.external_id == "CUST-003" and row.site_id is not None and row.customer_rate_plan_id is not None
    assert len(services) == 1 and services[0].status == "active"
    assert [op["details"]["changes"] for op in sim.operations() if op["iccid"] == iccid] == [
        {"customer": "CUST-003"}
    ]


def test_change_customer_rate_plan_and_archive_change_only_amop_records(world, monkeypatch):
    sim, engine, _, _ = world
    with engine.connect() as connection:
        customer_device = connection.scalar(
            sa.text("SELECT iccid FROM device WHERE customer_id IS NOT NULL ORDER BY iccid LIMIT 1")
        )
        idle = connection.scalar(sa.text("SELECT iccid FROM device ORDER BY iccid DESC LIMIT 1"))
    with engine.begin() as connection:  # a SIM without usage in the last 30 days may be archived
        connection.execute(
            sa.text(
                "UPDATE device_usage SET data_mb = 0 "
                "WHERE device_id = (SELECT id FROM device WHERE iccid = :i)"
            ),
            {"i": idle},
        )
    _, report = _run_file(
        world, "change_customer_rate_plan", f"iccid,customer_rate_plan\n{customer_device},BASIC\n"
    )
    assert report.counts == {"completed": 1}
    monkeypatch.setenv("AMOP_ARCHIVERS", "admin")
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "0")
    monkeypatch.setenv("AMOP_ALLOW_UNAPPROVED_CRITICAL", "true")  # critical types run unapproved
    _, report = _run_file(world, "archive_device", f"iccid\n{idle}\n", requested_by="admin")
    assert report.counts == {"completed": 1}
    with engine.connect() as connection:
        assert connection.scalar(sa.select(Device.is_archived).where(Device.iccid == idle))
    assert not [op for op in sim.operations() if op["iccid"] in (customer_device, idle)]  # no carrier call


def test_a_request_whose_run_ended_unsettled_gets_a_new_round(world, sqlite_url):
    import dagster as dg

    from amop_pipelines.changes.requests import status
    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.changes.sensors import change_requests_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase

    _, engine, _, tmp_path = world
    request_id = submit_file(
        engine, "change_carrier_rate_plan", _plan_file(tmp_path, _jasper_devices(engine, 2)), "alice"
    )
    database = AmopDatabase(url=sqlite_url)
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            (first,) = change_requests_sensor(context).run_requests
        # the round starts, then its run dies before settling the request
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE change_request SET state = 'running', rounds = 1 WHERE request_id = :r"),
                {"r": request_id},
            )
        run = instance.create_run_for_job(change_request_job, run_config=first.run_config, tags=first.tags)
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            assert not change_requests_sensor(context).run_requests  # its run is still going
        instance.report_run_failed(run)
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            (resume,) = change_requests_sensor(context).run_requests
    assert resume.run_key == f"{request_id}:round-2:after-1-failed"
    assert status(engine, request_id).state == "running"


def test_a_request_whose_run_failed_before_its_round_started_is_launched_again(world, sqlite_url):
    """The first run failed before start_change_round (the request still pending, round 0): the
    sensor asks for a new run under a new key, not the spent one; after three failures in a row
    the request waits for an operator (each failure alerted), never looping."""
    import dagster as dg

    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.changes.sensors import MAX_FAILED_RUNS, change_requests_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase

    _, engine, _, tmp_path = world
    request_id = submit_file(
        engine, "change_carrier_rate_plan", _plan_file(tmp_path, _jasper_devices(engine, 2)), "alice"
    )
    database = AmopDatabase(url=sqlite_url)
    keys = []
    with dg.instance_for_test() as instance:
        for _ in range(MAX_FAILED_RUNS):
            with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
                (request,) = change_requests_sensor(context).run_requests
            keys.append(request.run_key)
            run = instance.create_run_for_job(
                change_request_job, run_config=request.run_config, tags=request.tags
            )
            instance.report_run_failed(run)  # e.g. the code location could not load on the worker
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            held = change_requests_sensor(context)
    assert keys == [request_id, f"{request_id}:after-1-failed", f"{request_id}:after-2-failed"]
    assert (
        not held.run_requests and f"held after 3 failed runs: {request_id}" in held.skip_reason.skip_message
    )


def test_a_push_before_close_is_launched_ahead_of_earlier_requests_of_the_account(world, sqlite_url):
    """Two requests filed earlier (normal, low) and then a Go run's push: the sensor launches the
    push first, and each run carries its request's priority for the run queue to dequeue by."""
    import dagster as dg
    from sqlalchemy.orm import Session

    from amop_pipelines.changes.priorities import PRIORITIES
    from amop_pipelines.changes.requests import status
    from amop_pipelines.defs.changes.sensors import change_requests_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.planning.requests import queue_rate_plan_changes

    _, engine, _, tmp_path = world
    first, second, third = _jasper_devices(engine, 3)
    normal = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, [first]), "alice")
    low = submit_file(
        engine, "change_carrier_rate_plan", _plan_file(tmp_path, [second]), "alice", PRIORITIES["low"]
    )
    with Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
        session.expunge(provider)
    iccid, plan, device_id = third
    target = "J-POOL-20MB" if plan != "J-POOL-20MB" else "J-POOL-5MB"
    (push,) = queue_rate_plan_changes(
        engine, provider, [(device_id, iccid, target, plan)], "optimization", "session 1"
    ).request_ids
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, resources={"amop_db": AmopDatabase(url=sqlite_url)}
        ) as context,
    ):
        launched = change_requests_sensor(context).run_requests
    assert [r.tags["amop/change-request"] for r in launched] == [push, normal, low]
    assert [r.tags["dagster/priority"] for r in launched] == ["20", "0", "-10"]
    assert "priority before-close" in status(engine, push).lines()[0]
    assert "priority low" in status(engine, low).lines()[0]


def test_a_change_run_that_leaves_dead_items_ends_failed_with_its_outcome(world, sqlite_url):
    import dagster as dg

    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.notifier import Notifier

    sim, engine, _, tmp_path = world
    request_id = submit_file(
        engine,
        "change_carrier_rate_plan",
        _plan_file(tmp_path, devices := _jasper_devices(engine, 1)),
        "alice",
    )
    sim.set_faults("jasper", route="/rws/api/v1/devices/", error_rate=1.0)  # every change refused
    config = {"ops": {"start_change_round": {"config": {"request_id": request_id, "max_attempts": 1}}}}
    with dg.instance_for_test() as instance:
        result = change_request_job.execute_in_process(
            run_config=config,
            instance=instance,
            resources={
                "amop_db": AmopDatabase(url=sqlite_url),
                "carriers": simulator_carriers(sim.base_url),
                "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
            },
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    assert "1 items failed (dead 1)" in error.message and "amop changes retry" in error.message
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert metadata["dead"].value == 1 and devices[0][0] in metadata["failures"].value


def test_items_wait_for_an_open_circuit_instead_of_spending_their_attempts(world):
    """The carrier fails until its circuit opens, then recovers while the circuit is still open:
    the first item spent its attempts on the carrier, the others wait for the circuit to close (no
    attempt spent without reaching the carrier) and then complete."""
    sim, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 4)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    sim.set_faults("jasper", route="/rws/api/v1/devices/", error_rate=1.0)

    def breaking_client(provider):
        client = client_for(provider)
        client.http.policy = replace(
            client.http.policy, max_attempts=1, breaker_failures=3, breaker_cooldown_seconds=1.5
        )
        client.http.breaker = CircuitBreaker(3, 1.5)
        return client

    recover = threading.Timer(
        0.5, lambda: sim.set_faults("jasper", route="/rws/api/v1/devices/", error_rate=0.0)
    )
    recover.start()
    try:
        report = execute_request(engine, request_id, breaking_client, max_attempts=3, backoff_seconds=0.01)
    finally:
        recover.cancel()
    assert report.counts == {"dead": 1, "completed": 3}
    with engine.connect() as connection:
        items = connection.execute(
            sa.select(ChangeItem.state, ChangeItem.attempts, ChangeItem.last_error)
        ).all()
    (dead,) = [item for item in items if item.state == "dead"]
    assert "after 3 attempts" in dead.last_error and "circuit" not in dead.last_error
    assert all(item.attempts == 1 for item in items if item.state == "completed")  # one call each
