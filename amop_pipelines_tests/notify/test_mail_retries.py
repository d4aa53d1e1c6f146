"""Failed mail is kept and tried again with doubling pauses, then given up on, never lost."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from amop_pipelines.db.models import Notification
from amop_pipelines.notify.mail import MAX_ATTEMPTS, Mailer, Message, SmtpSettings, due_for_resend
from amop_pipelines.simulator.server import free_port


def test_a_failed_mail_waits_doubling_pauses_and_is_undeliverable_after_the_last_attempt(
    sqlite_engine, tmp_path
):
    down = Mailer("amop@example.com", tmp_path, SmtpSettings("127.0.0.1", free_port(), timeout_seconds=2))
    delivery = down.notify(
        sqlite_engine, Message("alert", "Subject", "Body", ["ops@example.com"], ["audit@example.com"])
    )
    assert delivery.status == "failed" and delivery.error
    now = datetime.now(UTC)
    assert due_for_resend(sqlite_engine, now) == []  # the first pause is not over
    pauses = []
    for attempt in range(2, MAX_ATTEMPTS + 1):
        with sqlite_engine.connect() as connection:
            waits_until = connection.scalar(sa.select(Notification.next_attempt_at))
        pauses.append(waits_until - now)
        now = waits_until
        assert due_for_resend(sqlite_engine, now) == [(1, attempt - 1)]
        down.resend_due(sqlite_engine, now)
    assert [round(p / timedelta(minutes=1)) for p in pauses[:3]] == [5, 10, 20]
    with sqlite_engine.connect() as connection:
        row = connection.execute(sa.select(Notification)).one()
    assert (row.status, row.attempts, row.bcc) == ("undeliverable", MAX_ATTEMPTS, "audit@example.com")
    assert due_for_resend(sqlite_engine, now + timedelta(days=30)) == []
