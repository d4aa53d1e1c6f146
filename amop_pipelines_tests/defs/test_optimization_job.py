"""The optimization job end to end: a partition of the demo fleet, synced from the simulator,
optimized, stored, reported and mailed."""

import email
from datetime import UTC, datetime
from decimal import Decimal
from email import policy

import dagster as dg
import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines.db.models import (
    BillingPeriod,
    CarrierRatePlan,
    CommunicationPlanRatePlan,
    Device,
    Notification,
    OptimizationCommGroup,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationMobilityDeviceResult,
    OptimizationQueue,
    OptimizationResultFile,
    OptimizationSession,
    ServiceProvider,
)
from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.optimization.checks import comm_groups_within_plan_limit
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import current_billing_month, materialize_month
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.sync.assets import sync_assets
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.sync.periods import provider_period

FLEET = 1500


@pytest.fixture
def world(sqlite_url, sqlite_engine, tmp_path, monkeypatch, smtp_server):
    monkeypatch.setenv("AMOP_DATA_DIR", str(tmp_path / "data"))
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=500))
    smtp_port, inbox = smtp_server
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.freeze_clock()
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
        yield sim, sqlite_url, sqlite_engine, inbox, smtp_port


def _provider(engine, integration: str) -> ServiceProvider:
    with Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration=integration)).one()
        session.expunge(provider)
    return provider


def _run(world, provider: ServiceProvider, assets=None, run_config=None, milp: bool = False):
    """The month's assets for the provider's partition. The small keys' MILPs run only where a
    test is about what the optimizer finds (`milp=True`): elsewhere they would only add seconds to
    what the test checks (mail, reports, alerts), and `test_methods` covers them."""
    sim, url, _, _, smtp_port = world
    assets = assets or [*sync_assets, *optimization_assets]
    if not milp and any(key.path[-1] == "comm_plan_groups" for a in assets for key in getattr(a, "keys", ())):
        run_config = dict(run_config or {})
        ops = run_config["ops"] = dict(run_config.get("ops", {}))
        groups = ops["comm_plan_groups"] = dict(ops.get("comm_plan_groups", {}))
        groups["config"] = {**groups.get("config", {}), "milp_seconds": 0}
    resources = {
        "amop_db": AmopDatabase(url=url),
        "carriers": simulator_carriers(sim.base_url),
        "notifier": Notifier(smtp_host="127.0.0.1", smtp_port=smtp_port, recipients="ops@example.com"),
    }
    with dg.instance_for_test() as instance:
        return materialize_month(
            assets,
            provider,
            instance,
            resources,
            run_config=run_config,
        )


@pytest.mark.parametrize("integration", ["jasper", "thingspace"])
def test_the_optimization_job_for_a_partition(world, integration):
    _, _, engine, inbox, _ = world
    provider = _provider(engine, integration)
    month = current_billing_month(provider)
    result = _run(
        world,
        provider,
        [*sync_assets, *optimization_assets, comm_groups_within_plan_limit],
        {"ops": {"device_staging": {"config": {"full_sync": True}}}},
        milp=True,
    )
    assert result.success

    with Session(engine) as session:
        instance_row = session.scalars(sa.select(OptimizationInstance)).one()
        session_row = session.get(OptimizationSession, instance_row.session_id)
        assert session_row.progress == 100 and session_row.status == "succeeded"
        winning = sa.select(OptimizationQueue.id).where(OptimizationQueue.is_winner)
        results = []
        for table in (OptimizationDeviceResult, OptimizationMobilityDeviceResult):
            results += session.execute(
                sa.select(table.device_id, table.recommended_rate_plan_id, Device.communication_plan_id).join(
                    Device, Device.id == table.device_id
                )
            ).all()
            assert (
                session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(~table.queue_id.in_(winning))
                )
                == 0
            )
        allowed = set(
            session.execute(
                sa.select(
                    CommunicationPlanRatePlan.communication_plan_id,
                    CommunicationPlanRatePlan.carrier_rate_plan_id,
                )
            ).all()
        )
        devices = session.scalar(
            sa.select(sa.func.count()).select_from(Device).where(Device.service_provider_id == provider.id)
        )
        # every device exactly one recommended plan, allowed for its communication plan
        assert len(results) == devices == len({r.device_id for r in results})
        assert all((r.communication_plan_id, r.recommended_rate_plan_id) in allowed for r in results)

        # the session's cost after is the cost engine's cost of the stored assignment
        billing_period = session.scalars(
            sa.select(BillingPeriod).filter_by(service_provider_id=provider.id, billing_month=month)
        ).one()
        session.expunge(billing_period)
        recommended = {r.device_id: r.recommended_rate_plan_id for r in results}
        codes = dict(session.execute(sa.text("SELECT id, plan_code FROM carrier_rate_plan")).all())
        report_file = session.scalars(sa.select(OptimizationResultFile)).one()
        skipped = session.scalars(
            sa.select(OptimizationCommGroup.name).where(OptimizationCommGroup.skipped_reason.is_not(None))
        ).all()
        alerts = session.scalars(sa.select(Notification.subject).where(Notification.kind == "alert")).all()
    loaded = result.output_for_node("comm_plan_groups").month  # the month as the run loaded it
    index = loaded.problem.plans.index()
    assignment = np.array([index[codes[recommended[int(i)]]] for i in loaded.device_ids])
    assert assignment_cost(loaded.problem, assignment).total == instance_row.cost_after
    # every device of the demo fleet is on a priced plan: the cost before is known, and the savings
    # are never negative
    assert instance_row.cost_before is not None and instance_row.cost_before >= instance_row.cost_after
    assert instance_row.lower_bound <= instance_row.cost_after

    if integration == "jasper":  # CP-LEGACY allows 17 plans: not optimized, and an alert names it
        assert skipped == ["CP-LEGACY"] and any("CP-LEGACY" in a for a in alerts)

    # the workbook: the summary first, one Assignments row per device, totals as in the database
    book = openpyxl.load_workbook(report_file.path)
    assert book.sheetnames == ["Summary", "Statistics", "Assignments", "Shared Pool"]
    assert book["Assignments"].max_row - 1 == devices
    labels = {row[0].value: row[1].value for row in book["Summary"].iter_rows() if row[0].value}
    assert Decimal(str(labels["Cost after (recommended plans, projected usage)"])) == instance_row.cost_after
    # the bound beside the cost after is on its basis: CP-LEGACY's devices, not optimized, count in both
    assert Decimal(str(labels["Lower bound on the cost after (same basis)"])) == instance_row.lower_bound
    assert 0 <= labels["Gap to the lower bound"] < 0.01
    assert labels["Next step"] in ("Off", "Nothing to push")  # the demo accounts push nothing themselves
    assert book["Statistics"]._charts  # the savings chart

    # the success mail carried the workbook
    (envelope,) = [e for e in inbox.envelopes if b"savings" in e.content]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == report_file.file_name


def test_progress_milestones_are_posted_to_the_webhook(world, monkeypatch):
    from amop_pipelines_tests.carriers.conftest import Receiver

    engine = world[2]
    receiver = Receiver()
    monkeypatch.setenv("AMOP_PROGRESS_WEBHOOK_URL", receiver.url)
    try:
        provider = _provider(engine, "thingspace")
        assert _run(world, provider).success
    finally:
        receiver.close()
    assert [p["progress"] for p in receiver.received] == [0, 20, 30, 40, 50, 100]
    assert receiver.received[-1]["status"] == "succeeded"
    assert len({p["sessionGuid"] for p in receiver.received}) == 1
    with Session(engine) as session:
        devices = session.scalar(
            sa.select(sa.func.count()).select_from(Device).where(Device.service_provider_id == provider.id)
        )
        stored = session.scalars(sa.select(OptimizationSession.devices)).one()
    # every milestone carries its device count: the fleet before the sync, synced, optimized, reported
    assert [p["devices"] for p in receiver.received] == [devices] * 6 and stored == devices


@pytest.mark.parametrize(
    ("expected", "minutes_before_close", "auto_update"),
    [("Go", 2 * 24 * 60, True), ("No Go", 5, True), ("Closed", -5, True), ("Off", 2 * 24 * 60, False)],
)
def test_rate_plan_updates_does_what_the_reports_next_step_says(
    world, monkeypatch, expected, minutes_before_close, auto_update
):
    """Go queues the changes in batches of at most 250 and mails Go; No Go (too little time) and
    Closed queue nothing and mail No Go; Off queues and mails nothing. Whatever the case, the
    report's Next step announced the same decision."""
    from datetime import timedelta

    from amop_pipelines.db.models import ChangeItem, ChangeRequest
    from amop_pipelines.defs.optimization import assets as optimization

    engine, inbox = world[2], world[3]
    with engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(auto_update_rate_plans=auto_update))
        # the account's own recipients hear about its runs, not the deployment's default ones
        connection.execute(
            sa.update(ServiceProvider)
            .where(ServiceProvider.integration == "jasper")
            .values(mail_to="fleet@acme.example")
        )
    provider = _provider(engine, "jasper")
    closes = provider_period(provider, current_billing_month(provider)).ends_at
    monkeypatch.setattr(
        optimization, "current_time", lambda: closes - timedelta(minutes=minutes_before_close)
    )
    result = _run(world, provider)
    assert result.success
    metadata = result.asset_materializations_for_node("rate_plan_updates")[0].metadata
    report = result.asset_materializations_for_node("optimization_report")[0].metadata
    assert metadata["decision"].value == report["next_step"].value == expected
    changes = metadata["changes"].value
    assert changes > 250  # enough to need several batches
    with Session(engine) as session:
        requests = session.scalars(sa.select(ChangeRequest)).all()
        sizes = [
            session.scalar(
                sa.select(sa.func.count()).select_from(ChangeItem).where(ChangeItem.change_request_id == r.id)
            )
            for r in requests
        ]
        kinds = session.scalars(
            sa.select(Notification.kind).where(Notification.kind.in_(["go", "no_go"]))
        ).all()
    decision_mails = [e for e in inbox.envelopes if b"rate plan updates" in e.content]
    assert all(e.rcpt_tos == ["fleet@acme.example"] for e in decision_mails)
    if expected == "Go":
        assert kinds == ["go"] and len(decision_mails) == 1
        assert sum(sizes) == changes and max(sizes) <= 250 and len(requests) == -(-changes // 250)
        assert {r.change_type for r in requests} == {"change_carrier_rate_plan"}
    else:
        assert requests == []
        assert kinds == ([] if expected == "Off" else ["no_go"])
        assert len(decision_mails) == len(kinds)


def test_a_customer_optimization_covers_its_devices_with_its_own_pools_and_report(world):
    from amop_pipelines.db.models import (
        Customer,
        OptimizationCustomerProcessing,
        OptimizationSharedPoolResult,
    )

    engine, inbox = world[2], world[3]
    provider = _provider(engine, "jasper")
    customer = {"config": {"customer": "CUST-001"}}
    result = _run(world, provider, run_config={"ops": {"comm_plan_groups": customer}})
    assert result.success
    with Session(engine) as session:
        customer_id = session.scalar(sa.select(Customer.id).filter_by(external_id="CUST-001"))
        optimized = session.scalar(sa.select(sa.func.count()).select_from(OptimizationDeviceResult))
        theirs = session.scalar(
            sa.select(sa.func.count())
            .select_from(Device)
            .where(Device.customer_id == customer_id, Device.service_provider_id == provider.id)
        )
        processing = session.scalars(sa.select(OptimizationCustomerProcessing)).one()
        pool_keys = set(session.scalars(sa.select(OptimizationSharedPoolResult.pool_key)))
        report = session.scalars(sa.select(OptimizationResultFile)).one()
    assert 0 < optimized <= theirs
    assert processing.customer_id == customer_id and processing.status == "delivered"
    assert pool_keys <= {"", "CUST-001"} and "CUST-001" in pool_keys
    assert "CUST-001" in report.file_name
    assert any(b"CUST-001" in e.content for e in inbox.envelopes)


def test_a_plan_new_at_the_carrier_arrives_unpriced_and_is_never_recommended(world):
    from amop_pipelines.db.models import CarrierRatePlan, CommunicationPlan
    from amop_pipelines.defs.sync.checks import rate_plans_priced
    from amop_pipelines.simulator.state import SimRatePlan

    sim, _, engine, inbox, _ = world
    code = "T-M2M-NEW-5GB"
    sim.state.rate_plans["thingspace", code] = SimRatePlan("thingspace", code, "New 5 GB", 5120.0)
    provider = _provider(engine, "thingspace")
    synced = _run(world, provider, [*sync_assets, rate_plans_priced])
    assert synced.success
    with Session(engine) as session:
        plan = session.scalars(sa.select(CarrierRatePlan).filter_by(plan_code=code)).one()
        assert (plan.is_priced, plan.monthly_charge, plan.allowance_mb) == (False, 0, 5120)
        # the harshest case: it is allowed for a comm plan and its numbers would make it the
        # cheapest of all; only being unpriced keeps it out
        comm = session.scalars(sa.select(CommunicationPlan).filter_by(name="TS-M2M")).one()
        session.add(CommunicationPlanRatePlan(communication_plan_id=comm.id, carrier_rate_plan_id=plan.id))
        plan.overage_rate, plan.overage_unit_mb, plan.monthly_charge = (
            Decimal("0.01"),
            Decimal(1),
            Decimal("0.01"),
        )
        session.commit()
        plan_id = plan.id
    (check,) = synced.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert code in check.description

    optimized = _run(world, provider, optimization_assets)
    assert optimized.success
    with Session(engine) as session:
        recommended = session.scalars(sa.select(OptimizationDeviceResult.recommended_rate_plan_id)).all()
        report = session.scalars(sa.select(OptimizationResultFile)).one()
    assert recommended and plan_id not in recommended
    summary = {
        row[0].value: row[1].value for row in openpyxl.load_workbook(report.path)["Summary"].iter_rows()
    }
    assert summary["Unpriced rate plans (never recommended until priced)"] == code
    (envelope,) = [e for e in inbox.envelopes if b"savings" in e.content]
    assert code.encode() in envelope.content


def test_a_month_with_no_group_to_optimize_completes_says_so_and_alerts(world):
    """Every Jasper comm plan allows CP-LEGACY's 17 plans (pooled ones among them): no group can be
    optimized. The run still completes, every device keeps its plan, the summary says nothing was
    optimized and an alert names each group."""
    _, _, engine, inbox, _ = world
    provider = _provider(engine, "jasper")
    with engine.begin() as connection:
        legacy = connection.scalar(sa.text("SELECT id FROM communication_plan WHERE name = 'CP-LEGACY'"))
        plans = connection.scalars(
            sa.select(CommunicationPlanRatePlan.carrier_rate_plan_id).where(
                CommunicationPlanRatePlan.communication_plan_id == legacy
            )
        ).all()
        others = connection.scalars(
            sa.text(
                "SELECT id FROM communication_plan WHERE service_provider_id = :p AND id != :l AND name != :a"
            ),
            {"p": provider.id, "l": legacy, "a": "(all plans of the account)"},
        ).all()
        connection.execute(
            sa.delete(CommunicationPlanRatePlan).where(
                CommunicationPlanRatePlan.communication_plan_id.in_(others)
            )
        )
        connection.execute(
            sa.insert(CommunicationPlanRatePlan),
            [{"communication_plan_id": c, "carrier_rate_plan_id": p} for c in others for p in plans],
        )
    result = _run(world, provider)
    assert result.success
    groups = result.asset_materializations_for_node("comm_plan_groups")[0].metadata
    assert (
        groups["skipped_groups"].value != "-"
        and "optimized" not in groups["preview"].value.split("| status |")[1]
    )
    winners = result.asset_materializations_for_node("winning_results")[0].metadata
    assert winners["devices_changed"].value == 0
    assert winners["winner"].value == "nothing to optimize"
    with Session(engine) as session:
        alerts = session.scalars(sa.select(Notification.subject).where(Notification.kind == "alert")).all()
        instance_row = session.scalars(sa.select(OptimizationInstance)).one()
    assert instance_row.cost_before == instance_row.cost_after  # every device keeps its plan
    assert len(alerts) == len(groups["skipped_groups"].value.split(", ")) >= 1
    assert any(b"nothing to optimize" in e.content for e in inbox.envelopes)


def test_repeated_go_runs_queue_each_change_once_and_send_one_summary_per_go_run(world, monkeypatch):
    from datetime import timedelta

    from amop_pipelines.changes.executor import execute_request
    from amop_pipelines.db.models import ChangeItem, ChangeRequest
    from amop_pipelines.defs.changes.jobs import notify_finished
    from amop_pipelines.defs.optimization import assets as optimization

    sim, _, engine, _, smtp_port = world
    with engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(auto_update_rate_plans=True))
    provider = _provider(engine, "jasper")
    closes = provider_period(provider, current_billing_month(provider)).ends_at
    monkeypatch.setattr(optimization, "current_time", lambda: closes - timedelta(days=2))
    to_date = {"ops": {"comm_plan_groups": {"config": {"project_usage": False}}}}  # the same month twice
    # with the MILPs: they stop on work done, so that the second run recommends what the first did
    first = _run(world, provider, run_config=to_date, milp=True).asset_materializations_for_node(
        "rate_plan_updates"
    )
    second = _run(world, provider, run_config=to_date, milp=True).asset_materializations_for_node(
        "rate_plan_updates"
    )
    first, second = first[0].metadata, second[0].metadata
    assert first["decision"].value == second["decision"].value == "Go"
    with Session(engine) as session:
        first_mail = session.scalars(sa.select(Notification.body).where(Notification.kind == "go")).first()
    assert first["requests"].value > 1 and first["devices_not_queued"].value == 0, first_mail
    assert second["requests"].value == 0  # every change is under way already: nothing queued twice
    assert second["devices_not_queued"].value == first["changes"].value == second["changes"].value
    with Session(engine) as session:
        requests = session.scalars(sa.select(ChangeRequest.request_id).order_by(ChangeRequest.id)).all()
        items = session.scalar(sa.select(sa.func.count()).select_from(ChangeItem))
        go_mails = session.scalars(sa.select(Notification.body).where(Notification.kind == "go")).all()
    assert len(requests) == first["requests"].value and items == first["changes"].value
    assert "not queued" in go_mails[1] and "a plan change is already under way" in go_mails[1]

    # the Go run's requests run to completion; the summary goes once, for all of them
    carriers = simulator_carriers(sim.base_url)
    notifier = Notifier(smtp_host="127.0.0.1", smtp_port=smtp_port, recipients="ops@example.com")
    for request_id in requests:
        report = execute_request(engine, request_id, carriers.for_provider)
        assert report.finished
        notify_finished(notifier, engine, report)
    with Session(engine) as session:
        summaries = session.scalars(sa.select(Notification).where(Notification.kind == "summary")).all()
    assert len(summaries) == 1
    assert all(request_id in summaries[0].body for request_id in requests)
    assert f"completed {items}" in summaries[0].body


def test_an_unreachable_mail_server_fails_no_run_and_its_mail_is_sent_later(world):
    """SMTP down: the month's runs succeed with their results stored, every mail is recorded as
    failed; once the server answers, failed_mail_sensor launches resend_mail_job, which sends
    them (the report with its workbook), and launches nothing more."""
    from amop_pipelines.defs.shared.mail_retries import failed_mail_sensor, resend_mail_job
    from amop_pipelines.simulator.server import free_port

    sim, url, engine, inbox, smtp_port = world
    down = {"notifier": Notifier(smtp_host="127.0.0.1", smtp_port=free_port(), recipients="ops@example.com")}
    for integration in ("jasper", "thingspace"):
        provider = _provider(engine, integration)
        with dg.instance_for_test() as instance:
            result = materialize_month(
                [*sync_assets, *optimization_assets],
                provider,
                instance,
                {"amop_db": AmopDatabase(url=url), "carriers": simulator_carriers(sim.base_url), **down},
            )
        assert result.success
        (report,) = [
            e
            for e in result.get_asset_materialization_events()
            if e.asset_key.path[-1] == "optimization_report"
        ]
        assert report.materialization.metadata["mail"].value == "failed"
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OptimizationResultFile)) == 2
        failed = session.execute(
            sa.select(Notification.subject, Notification.status, Notification.error)
        ).all()
    assert {status for _, status, _ in failed} == {"failed"} and len(failed) >= 2
    assert all("ConnectionRefusedError" in error for _, _, error in failed)
    assert inbox.envelopes == []

    resources = {
        "amop_db": AmopDatabase(url=url),
        "notifier": Notifier(smtp_host="127.0.0.1", smtp_port=smtp_port, recipients="ops@example.com"),
    }
    with dg.instance_for_test() as instance:
        with Session(engine) as session:  # the pause after the first failure is over
            session.execute(sa.update(Notification).values(next_attempt_at=datetime.now(UTC)))
            session.commit()
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            (request,) = failed_mail_sensor(context).run_requests
        assert request.run_key.startswith("resend-")
        assert resend_mail_job.execute_in_process(instance=instance, resources=resources).success
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            assert not failed_mail_sensor(context).run_requests
    with Session(engine) as session:
        statuses = session.scalars(sa.select(Notification.status)).all()
    assert set(statuses) == {"sent"} and len(inbox.envelopes) == len(failed)
    reports = [e for e in inbox.envelopes if b"savings" in e.content]
    assert len(reports) == 2
    message = email.message_from_bytes(reports[0].content, policy=policy.default)
    assert [a.get_filename().endswith(".xlsx") for a in message.iter_attachments()] == [True]


def test_a_mobility_group_over_its_plan_limit_is_skipped_with_an_alert(world):
    """The PHONE optimization group of TS-MOBILITY given 17 plans: like an M2M group over 15, its
    devices keep their plans and an alert names it; the TABLET group is optimized."""
    _, _, engine, _, _ = world
    provider = _provider(engine, "thingspace")
    with engine.begin() as connection:
        phone = connection.scalar(
            sa.text("SELECT id FROM optimization_group WHERE name = 'PHONE' AND service_provider_id = :p"),
            {"p": provider.id},
        )
        mobility = connection.scalar(
            sa.text(
                "SELECT id FROM communication_plan WHERE name = 'TS-MOBILITY' AND service_provider_id = :p"
            ),
            {"p": provider.id},
        )
        for n in range(14):  # the demo's PHONE group has 3 plans
            plan_id = connection.execute(
                sa.insert(CarrierRatePlan)
                .values(
                    service_provider_id=provider.id,
                    plan_code=f"T-MOB-PH-X{n}",
                    name=f"T-MOB-PH-X{n}",
                    plan_type="Mobility",
                    monthly_charge=Decimal(30 + n),
                    allowance_mb=Decimal(1000 * (n + 1)),
                    overage_rate=Decimal("0.01"),
                    overage_unit_mb=Decimal(1),
                    sms_rate=Decimal(0),
                    is_pooled=False,
                    optimization_group_id=phone,
                    is_priced=True,
                )
                .returning(CarrierRatePlan.id)
            ).scalar_one()
            connection.execute(
                sa.insert(CommunicationPlanRatePlan).values(
                    communication_plan_id=mobility, carrier_rate_plan_id=plan_id
                )
            )
    result = _run(world, provider)
    assert result.success
    groups = result.asset_materializations_for_node("comm_plan_groups")[0].metadata
    assert groups["skipped_groups"].value == "TS-MOBILITY [PHONE]"
    assert "17 rate plans, more than the 15 a Mobility group may have" in groups["preview"].value
    assert "TS-MOBILITY [TABLET]" in groups["preview"].value
    with Session(engine) as session:
        alerts = session.scalars(sa.select(Notification.subject).where(Notification.kind == "alert")).all()
    assert any("TS-MOBILITY [PHONE]" in a for a in alerts)


def test_a_provider_named_like_a_formula_gets_a_report_without_a_live_formula(world):
    """The account's name heads the report: named =HYPERLINK(...), it stays text, as every cell."""
    _, _, engine, _, _ = world
    hostile = '=HYPERLINK("http://evil.example","open me")'
    with engine.begin() as connection:
        connection.execute(
            sa.update(ServiceProvider).where(ServiceProvider.integration == "jasper").values(name=hostile)
        )
    result = _run(world, _provider(engine, "jasper"))
    assert result.success
    with Session(engine) as session:
        report = session.scalars(sa.select(OptimizationResultFile)).one()
    book = openpyxl.load_workbook(report.path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert any(isinstance(c.value, str) and c.value.startswith("'" + hostile) for c in cells)
