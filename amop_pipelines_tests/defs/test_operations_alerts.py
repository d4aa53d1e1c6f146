"""Operations alerts through the sensor: an account's carrier trouble, a backlog and overdue
callbacks each start one episode, one alert run, whatever the number of items or ticks; an episode
that ends and comes back is alerted again."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.requests import submit_file
from amop_pipelines.db.models import ChangeItem, ChangeRequest, Notification, ServiceProvider
from amop_pipelines.defs.shared import operations_alerts
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.demo.seed import seed_demo

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def filed(sqlite_url, sqlite_engine, tmp_path, monkeypatch):
    """A Jasper request of 12 plan changes, filed an hour ago."""
    monkeypatch.setattr(operations_alerts, "current_time", lambda: NOW)
    seed_demo(sqlite_engine, devices=300)
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.update(ServiceProvider)
            .where(ServiceProvider.integration == "jasper")
            .values(mail_to="noc@acme.example")
        )
        rows = connection.execute(
            sa.text(
                "SELECT d.iccid, rp.plan_code FROM device d "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "JOIN communication_plan cp ON cp.id = d.communication_plan_id WHERE cp.name = 'CP-CORE' "
                "ORDER BY d.iccid LIMIT 12"
            )
        ).all()
    path = tmp_path / "plans.csv"
    path.write_text(
        "iccid,rate_plan\n"
        + "".join(f"{i},{'J-POOL-20MB' if p != 'J-POOL-20MB' else 'J-POOL-5MB'}\n" for i, p in rows)
    )
    request_id = submit_file(sqlite_engine, "change_carrier_rate_plan", path, "alice")
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ChangeRequest).values(created_at=NOW - timedelta(hours=1)))
        connection.execute(sa.update(ChangeItem).values(updated_at=NOW - timedelta(hours=1)))
        account = connection.scalar(
            sa.select(ServiceProvider.name).where(ServiceProvider.integration == "jasper")
        )
    return sqlite_url, sqlite_engine, request_id, account


def _tick(url: str, cursor: str | None):
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"amop_db": AmopDatabase(url=url)}
        ) as context,
    ):
        result = operations_alerts.operations_alert_sensor(context)
    return result.run_requests or [], result.cursor


def _items(engine, count: int, **values) -> None:
    with engine.begin() as connection:
        ids = connection.scalars(sa.select(ChangeItem.id).order_by(ChangeItem.id).limit(count)).all()
        connection.execute(sa.update(ChangeItem).where(ChangeItem.id.in_(ids)).values(**values))


def test_repeated_timeouts_on_an_account_are_one_alert_per_episode(filed, tmp_path):
    url, engine, _, account = filed
    assert _tick(url, None)[0] == []  # an hour old, under the backlog threshold, no errors
    _items(engine, 4, last_error="PUT /devices/x timed out", updated_at=NOW - timedelta(minutes=5))
    assert _tick(url, None)[0] == []  # four are not yet "repeated"
    _items(engine, 8, last_error="PUT /devices/x timed out", updated_at=NOW - timedelta(minutes=5))
    (alert,), cursor = _tick(url, None)
    config = alert.run_config["ops"]["send_operations_alert"]["config"]
    assert config["subject"] == f"AMOP alert: {account}: carrier calls time out"
    assert "8 change items" in config["body"] and "Check: the carrier's status page" in config["body"]
    assert config["recipients"] == "noc@acme.example"
    assert _tick(url, cursor)[0] == []  # the same episode: no second alert
    _items(engine, 12, last_error=None)  # it ends
    none, cursor = _tick(url, cursor)
    assert none == [] and cursor == "{}"
    _items(engine, 6, last_error="PUT /devices/x answered 401 Unauthorized", updated_at=NOW)
    (again,), _ = _tick(url, cursor)  # a new episode, of another kind
    assert (
        "refuses AMOP's credentials" in again.run_config["ops"]["send_operations_alert"]["config"]["subject"]
    )

    with dg.instance_for_test() as instance:
        sent = operations_alerts.operations_alert_job.execute_in_process(
            run_config=again.run_config,
            instance=instance,
            resources={
                "amop_db": AmopDatabase(url=url),
                "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
            },
        )
    assert sent.success
    with engine.connect() as connection:
        subject, recipients = connection.execute(
            sa.select(Notification.subject, Notification.recipients)
        ).one()
    assert account in subject and recipients == "noc@acme.example"


def test_a_backlog_and_overdue_callbacks_are_alerted_naming_the_account(filed, monkeypatch):
    url, engine, _, account = filed
    monkeypatch.setenv("AMOP_BACKLOG_ALERT_MINUTES", "30")
    _items(engine, 12, state="awaiting_callback", updated_at=NOW - timedelta(hours=1))
    alerts, _ = _tick(url, None)
    subjects = sorted(a.run_config["ops"]["send_operations_alert"]["config"]["subject"] for a in alerts)
    assert subjects == [
        f"AMOP alert: {account}: 1 change requests waiting over 30 minutes",
        f"AMOP alert: {account}: 12 callbacks overdue",
    ]
