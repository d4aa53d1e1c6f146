"""A failed run marks its session failed and sends an error notification; mail goes out by SMTP."""

import email
from email import policy

import dagster as dg
import sqlalchemy as sa

from amop_pipelines.db.models import Notification, OptimizationSession
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.failure_alerts import failure_alert_sensor
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.shared.partitions import providers
from amop_pipelines.defs.sync.assets import SESSION_TAG, device_staging
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.planning.store import session_for_run
from amop_pipelines.simulator.server import free_port
from amop_pipelines.sync import sessions


def test_a_failed_run_fails_its_session_and_files_an_error_mail(sqlite_url, sqlite_engine, tmp_path):
    seed_demo(sqlite_engine, devices=20)
    # a session opened by an earlier run of this slot (the run whose failure we look at names it)
    guid = sessions.session_guid("test-run-key")
    session_for_run(sqlite_engine, "an-earlier-run", 1, None, guid)
    database = AmopDatabase(url=sqlite_url)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(providers.name, ["no-such-provider"])
        result = dg.materialize(
            [device_staging],
            partition_key=dg.MultiPartitionKey(
                {"provider": "no-such-provider", "billing_month": "2026-12-01"}
            ),
            resources={
                "amop_db": database,
                "carriers": simulator_carriers(f"http://127.0.0.1:{free_port()}"),
            },
            instance=instance,
            tags={SESSION_TAG: guid},
            raise_on_error=False,
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        with dg.build_run_status_sensor_context(
            sensor_name=failure_alert_sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure,
            resources={"amop_db": database, "notifier": Notifier(outbox_dir=str(tmp_path / "outbox"))},
        ) as context:
            failure_alert_sensor(context.for_run_failure())

    with sqlite_engine.connect() as connection:
        status, error = connection.execute(
            sa.select(OptimizationSession.status, OptimizationSession.error).where(
                OptimizationSession.session_guid == guid
            )
        ).one()
        notification = connection.execute(sa.select(Notification)).one()
    assert status == "failed"
    assert "no-such-provider" in error
    assert notification.kind == "error" and notification.status == "filed"
    (mail,) = (tmp_path / "outbox").glob("*.eml")
    text = mail.read_text()
    assert "device_staging" in text and "no-such-provider" in text


def test_mail_goes_out_by_smtp_with_attachment_and_bcc(sqlite_engine, smtp_server, tmp_path):
    port, inbox = smtp_server
    report = tmp_path / "report.xlsx"
    report.write_bytes(b"PK\x03\x04 not really a workbook")
    notifier = Notifier(
        smtp_host="127.0.0.1", smtp_port=port, recipients="ops@example.com", bcc="audit@example.com"
    )
    delivery = notifier.send(sqlite_engine, "success", "Savings", "You saved 12.34", attachments=[report])
    assert delivery.status == "sent"
    (envelope,) = inbox.envelopes
    assert set(envelope.rcpt_tos) == {"ops@example.com", "audit@example.com"}
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "Savings" and "audit@example.com" not in message.get("To", "")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.xlsx" and attachment.get_content() == report.read_bytes()


def test_every_job_of_the_code_location_is_watched_change_runs_included(sqlite_url, sqlite_engine, tmp_path):
    """The sensor as the daemon ticks it: a failed change round and a failed materialization
    launched from an asset page each send an error mail; the change request's audit trail notes
    its failed run."""
    from amop_pipelines.changes.requests import audit_trail, create_request
    from amop_pipelines.definitions import defs

    seed_demo(sqlite_engine, devices=20)
    with sqlite_engine.begin() as connection:
        iccid, device_id = connection.execute(sa.text("SELECT iccid, id FROM device LIMIT 1")).one()
        request_id = create_request(
            connection,
            "change_carrier_rate_plan",
            [{"iccid": iccid, "device_id": device_id, "parameters": {"rate_plan": "J-POOL-20MB"}}],
            "alice",
            "test",
        )
    repository = defs.get_repository_def()
    resources = {
        "amop_db": AmopDatabase(url=sqlite_url),
        "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
    }

    def tick(instance, cursor):
        with dg.build_sensor_context(
            instance=instance, repository_def=repository, cursor=cursor, resources=resources
        ) as context:
            return failure_alert_sensor.evaluate_tick(context).cursor

    with dg.instance_for_test() as instance:
        cursor = tick(instance, None)  # the first tick starts from now
        change_run = instance.create_run_for_job(
            repository.get_job("change_request_job"),
            run_config={"ops": {"start_change_round": {"config": {"request_id": request_id}}}},
            tags={"amop/change-request": request_id},
        )
        asset_run = instance.create_run_for_job(repository.get_implicit_global_asset_job_def())
        for run in (change_run, asset_run):
            instance.report_run_failed(run)
        tick(instance, cursor)
    with sqlite_engine.connect() as connection:
        subjects = connection.scalars(
            sa.select(Notification.subject).where(Notification.kind == "error")
        ).all()
    assert sorted(subjects) == sorted(
        [f"AMOP change_request_job failed ({request_id})", "AMOP __ASSET_JOB failed (-)"]
    )
    assert any(
        "run failed" in line and change_run.run_id in line for line in audit_trail(sqlite_engine, request_id)
    )


def test_the_smtp_password_never_crosses_an_unencrypted_connection(sqlite_engine, monkeypatch):
    """A server offering AUTH without TLS gets no login: the mail is refused and recorded as
    failed, saying what to set; only an explicit AMOP_SMTP_ALLOW_PLAIN_AUTH sends it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from amop_pipelines.defs.shared.notifier import notifier_from_env

    logins: list[bytes] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.password)
        return AuthResult(success=True)

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(
        Sink(), hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        for name, value in {
            "AMOP_SMTP_HOST": "127.0.0.1",
            "AMOP_SMTP_PORT": str(controller.port),
            "AMOP_SMTP_USERNAME": "amop",
            "AMOP_SMTP_PASSWORD": "hunter2-smtp",
            "AMOP_SMTP_STARTTLS": "off",
        }.items():
            monkeypatch.setenv(name, value)
        with dg.build_resources({"notifier": notifier_from_env()}) as resources:
            refused = resources.notifier.send(sqlite_engine, "alert", "Subject", "Body")
        assert refused.status == "failed"
        assert "refusing to send the SMTP password unencrypted" in (refused.error or "")
        assert logins == []  # the server never saw it
        with sqlite_engine.connect() as connection:
            status, error = connection.execute(sa.select(Notification.status, Notification.error)).one()
        assert status == "failed" and "AMOP_SMTP_STARTTLS=true" in error

        monkeypatch.setenv("AMOP_SMTP_ALLOW_PLAIN_AUTH", "yes")  # a relay on a trusted network
        with dg.build_resources({"notifier": notifier_from_env()}) as resources:
            assert resources.notifier.send(sqlite_engine, "alert", "Subject", "Body").status == "sent"
        assert logins == [b"hunter2-smtp"]
    finally:
        controller.stop()
