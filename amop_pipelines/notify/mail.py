"""Sending or filing one notification, and recording it in the AMOP database."""

from __future__ import annotations

import mimetypes
import re
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, insert

from amop_pipelines.db.models import Notification


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


@dataclass(frozen=True)
class Delivery:
    status: str  # "sent" (SMTP) or "filed" (outbox)
    outbox_path: Path | None


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
        """Deliver and record; a delivery failure is recorded too, then raised."""
        row = {
            "kind": message.kind,
            "subject": message.subject,
            "recipients": ", ".join(message.recipients),
            "body": message.body,
            "created_at": datetime.now(UTC),
        }
        try:
            delivery = self.deliver(message)
        except (OSError, smtplib.SMTPException) as error:
            with engine.begin() as connection:
                connection.execute(insert(Notification).values(**row, status="failed", error=str(error)))
            raise
        with engine.begin() as connection:
            connection.execute(
                insert(Notification).values(
                    **row,
                    status=delivery.status,
                    outbox_path=str(delivery.outbox_path) if delivery.outbox_path else None,
                    sent_at=datetime.now(UTC),
                )
            )
        return delivery
