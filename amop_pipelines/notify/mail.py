"""Sending or filing one notification, and recording it in the AMOP database.

A mail that cannot be sent never fails the work it reports on: it is recorded `failed` with the
reason and everything needed to send it again, and `resend_due` tries it again with growing
pauses (5 minutes, doubling) until it goes out or MAX_ATTEMPTS is reached (`undeliverable`).
"""

from __future__ import annotations

import mimetypes
import re
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, insert, or_, select, update

from amop_pipelines.db.models import Notification
from amop_pipelines.db.retry import unit_of_work


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 30.0
    allow_plain_auth: bool = False  # send the password over an unencrypted connection (never, by default)


class PlainAuthRefused(smtplib.SMTPException):
    """The SMTP login would cross the network in clear text."""


@dataclass
class Message:
    kind: str  # success | error | alert | go | no_go | summary
    subject: str
    body: str
    recipients: list[str]
    bcc: list[str] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)


MAX_ATTEMPTS = 8
FIRST_PAUSE = timedelta(minutes=5)


def pause_after(attempts: int) -> timedelta:
    """How long a mail that failed `attempts` times waits before the next try."""
    return FIRST_PAUSE * 2 ** (attempts - 1)


@dataclass(frozen=True)
class Delivery:
    status: str  # "sent" (SMTP), "filed" (outbox) or "failed" (recorded, tried again later)
    outbox_path: Path | None
    error: str | None = None


def build_email(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(message.recipients)
    email["Subject"] = message.subject
    email["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    email.set_content(message.body)
    for path in message.attachments:
        kind, _ = mimetypes.guess_type(path.name)
        main, sub = (kind or "application/octet-stream").split("/", 1)
        email.add_attachment(Path(path).read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return email


class Mailer:
    """SMTP when `smtp` is given; otherwise each message becomes a file in `outbox`."""

    def __init__(self, sender: str, outbox: Path, smtp: SmtpSettings | None = None):
        self.sender, self.outbox, self.smtp = sender, Path(outbox), smtp

    def deliver(self, message: Message) -> Delivery:
        email = build_email(message, self.sender)
        if self.smtp is None:
            self.outbox.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", message.subject.lower()).strip("-")[:60]
            path = self.outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{message.kind}-{slug}.eml"
            path.write_bytes(bytes(email))
            return Delivery("filed", path)
        if self.smtp.username and not self.smtp.starttls and not self.smtp.allow_plain_auth:
            raise PlainAuthRefused(
                "refusing to send the SMTP password unencrypted: set AMOP_SMTP_STARTTLS=true, or "
                "AMOP_SMTP_ALLOW_PLAIN_AUTH=true for a relay on a network you trust"
            )
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout_seconds) as client:
            if self.smtp.starttls:
                client.starttls()
            if self.smtp.username:
                client.login(self.smtp.username, self.smtp.password or "")
            client.send_message(email, to_addrs=[*message.recipients, *message.bcc])
        return Delivery("sent", None)

    def notify(self, engine: Engine, message: Message) -> Delivery:
        """Deliver and record. A delivery failure is recorded with what sending it again needs,
        and returned (status `failed`), never raised: the caller's work stands."""
        now = datetime.now(UTC)
        row = {
            "kind": message.kind,
            "subject": message.subject,
            "recipients": ", ".join(message.recipients),
            "bcc": ", ".join(message.bcc) or None,
            "attachments": [str(path) for path in message.attachments] or None,
            "body": message.body,
            "created_at": now,
        }
        delivery = self._try(message)
        _record(engine, {**row, **_outcome(delivery, 1, now)})  # sent once, recorded however often needed
        return delivery

    def _try(self, message: Message) -> Delivery:
        try:
            return self.deliver(message)
        except (OSError, smtplib.SMTPException) as error:
            return Delivery("failed", None, f"{type(error).__name__}: {error}")

    def resend_due(self, engine: Engine, now: datetime | None = None) -> Resent:
        """Try again every failed mail whose pause is over."""
        now = now or datetime.now(UTC)
        with engine.connect() as connection:
            due = connection.execute(select(Notification).where(_due(now)).order_by(Notification.id)).all()
        resent = Resent()
        for row in due:
            attachments = [Path(p) for p in row.attachments or []]
            missing = [p for p in attachments if not p.is_file()]
            body = row.body + "".join(f"\n\n(attachment no longer available: {p})" for p in missing)
            message = Message(
                row.kind,
                row.subject,
                body,
                _split(row.recipients),
                _split(row.bcc or ""),
                [p for p in attachments if p not in missing],
            )
            delivery = self._try(message)
            attempts = row.attempts + 1
            with engine.begin() as connection:
                connection.execute(
                    update(Notification)
                    .where(Notification.id == row.id, Notification.status == "failed")
                    .values(**_outcome(delivery, attempts, now))
                )
            if delivery.status == "failed":
                resent.failed += 1
                resent.given_up += attempts >= MAX_ATTEMPTS
            else:
                resent.delivered += 1
        return resent


@dataclass
class Resent:
    delivered: int = 0
    failed: int = 0  # failed again (given_up of them for the last time)
    given_up: int = 0


def _due(now: datetime):
    """A failed mail whose pause is over: what `resend_due` tries and `due_for_resend` counts."""
    return (Notification.status == "failed") & or_(
        Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now
    )


@unit_of_work
def _record(engine: Engine, row: dict) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Notification).values(**row))


def due_for_resend(engine: Engine, now: datetime | None = None) -> list[tuple[int, int]]:
    """(id, attempts) of the failed mails whose pause is over: what the next resend would try."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        return [
            (row.id, row.attempts)
            for row in connection.execute(
                select(Notification.id, Notification.attempts).where(_due(now)).order_by(Notification.id)
            )
        ]


def _split(addresses: str) -> list[str]:
    return [a.strip() for a in addresses.split(",") if a.strip()]


def _outcome(delivery: Delivery, attempts: int, now: datetime) -> dict:
    if delivery.status != "failed":
        return {
            "status": delivery.status,
            "outbox_path": str(delivery.outbox_path) if delivery.outbox_path else None,
            "sent_at": now,
            "attempts": attempts,
            "next_attempt_at": None,
        }
    final = attempts >= MAX_ATTEMPTS
    return {
        "status": "undeliverable" if final else "failed",
        "error": delivery.error,
        "attempts": attempts,
        "next_attempt_at": None if final else now + pause_after(attempts),
    }
