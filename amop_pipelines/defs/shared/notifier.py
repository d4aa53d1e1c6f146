"""The notifier resource: recipients and SMTP settings from the environment.

With AMOP_SMTP_HOST unset, mail is written as .eml files to the outbox (AMOP_OUTBOX_DIR,
default `data/outbox`).
"""

import dagster as dg
from sqlalchemy import Engine

from amop_pipelines import settings
from amop_pipelines.notify.mail import Delivery, Mailer, Message, Resent, SmtpSettings
from amop_pipelines.settings import data_dir


class Notifier(dg.ConfigurableResource):
    sender: str = "amop@localhost"
    recipients: str = "operations@localhost"  # comma-separated
    bcc: str = ""
    outbox_dir: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_allow_plain_auth: bool = False

    def _mailer(self) -> Mailer:
        smtp = None
        if self.smtp_host:
            smtp = SmtpSettings(
                self.smtp_host,
                self.smtp_port,
                self.smtp_username,
                self.smtp_password,
                self.smtp_starttls,
                allow_plain_auth=self.smtp_allow_plain_auth,
            )
        return Mailer(self.sender, self.outbox_dir or str(data_dir() / "outbox"), smtp)

    def send(
        self,
        engine: Engine,
        kind: str,
        subject: str,
        body: str,
        attachments: list | None = None,
        recipients: str | None = None,
    ) -> Delivery:
        """`recipients` (comma-separated) replace the default ones: a carrier account's own."""
        message = Message(
            kind,
            subject,
            body,
            [r.strip() for r in (recipients or self.recipients).split(",") if r.strip()],
            [b.strip() for b in self.bcc.split(",") if b.strip()],
            list(attachments or []),
        )
        return self._mailer().notify(engine, message)

    def resend_due(self, engine: Engine) -> Resent:
        """Mail that failed earlier and whose pause is over, tried again."""
        return self._mailer().resend_due(engine)


_ENV = {
    "sender": "AMOP_MAIL_FROM",
    "recipients": "AMOP_MAIL_TO",
    "bcc": "AMOP_MAIL_BCC",
    "outbox_dir": "AMOP_OUTBOX_DIR",
    "smtp_host": "AMOP_SMTP_HOST",
    "smtp_username": "AMOP_SMTP_USERNAME",
    "smtp_password": "AMOP_SMTP_PASSWORD",
}


def notifier_from_env() -> Notifier:
    """Set variables as EnvVars (the password never lands in run configuration); the port and
    STARTTLS parsed by the settings module, so that a malformed value is refused by name."""
    fields: dict = {field: dg.EnvVar(var) for field, var in _ENV.items() if settings.is_set(var)}
    fields["smtp_port"] = settings.get("AMOP_SMTP_PORT")
    fields["smtp_starttls"] = settings.get("AMOP_SMTP_STARTTLS")
    fields["smtp_allow_plain_auth"] = settings.get("AMOP_SMTP_ALLOW_PLAIN_AUTH")
    return Notifier(**fields)


defs = dg.Definitions(resources={"notifier": notifier_from_env()})
