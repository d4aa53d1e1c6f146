"""Every setting AMOP reads from its environment, declared once and read only here.

A fresh clone works with no configuration, and a deployment changes only its environment. Each
setting has a name, a default, a parser and a meaning (docs/GUIDE.md's table lists them all; a
test keeps the two in step). A malformed value is refused by name and reason, never guessed at:
`AMOP_SMTP_STARTTLS=on` means on, `AMOP_SMTP_STARTTLS=maybe` is an error, not "off". Secrets reach
Dagster resources as `EnvVar`s (the resource factories ask `is_set`), so their values never land
in run configuration; their values are never part of an error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TRUE_WORDS = ("1", "true", "yes", "on", "y")
FALSE_WORDS = ("0", "false", "no", "off", "n")


class SettingError(ValueError):
    """A setting is missing or malformed: the message names it and says what it takes."""


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"must be one of {', '.join(TRUE_WORDS)} (on) or {', '.join(FALSE_WORDS)} (off)")


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            raise ValueError(f"must be {bounds}")
        return number

    return parse


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text.strip()

    return parse


def url(*schemes: str) -> Callable[[str], str]:
    """A URL of one of these schemes with a host (`sqlite` URLs name a file instead)."""

    def parse(text: str) -> str:
        value = text.strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
        except ValueError as error:
            raise ValueError(f"is not a URL ({error})") from None
        scheme = parts.scheme.split("+")[0]
        if scheme not in schemes:
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL")
        if any(c.isspace() for c in value) or (scheme != "sqlite" and not parts.hostname):
            raise ValueError("is not a URL with a host")
        return value

    return parse


def folder(text: str) -> str:
    """A folder path: absent (made when needed) or an existing folder, never a file."""
    path = Path(text.strip()).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError("names something that is not a folder")
    return text.strip()


def step_storage(text: str) -> str:
    """A folder, or s3://bucket[/prefix]."""
    if "://" in text:
        return url("s3")(text)
    return folder(text)


HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


def host(text: str) -> str:
    """A host name or address (no scheme, port or path)."""
    if not HOST_NAME.match(text.strip()):
        raise ValueError("must be a host name or IP address (no scheme, port or path)")
    return text.strip()


def addresses(text: str) -> tuple[str, ...]:
    """Comma-separated mail addresses, each name@domain."""
    found = tuple(address for _, address in getaddresses([text]) if address)
    bad = [a for a in found if not re.fullmatch(r"[^@\s]+@[^@\s]+", a)]
    if not found or bad or len(found) != len([p for p in text.split(",") if p.strip()]):
        raise ValueError("must be mail addresses like ops@example.com, separated by commas")
    return found


def secret_text(minimum: int) -> Callable[[str], str]:
    """A shared secret: long enough to resist guessing, no spaces at either end."""

    def parse(text: str) -> str:
        if text != text.strip():
            raise ValueError("has spaces at an end (they would be part of the secret)")
        if len(text) < minimum:
            raise ValueError(f"must be at least {minimum} characters")
        return text

    return parse


def names(text: str) -> frozenset[str]:
    """A comma-separated list of names."""
    return frozenset(n.strip() for n in text.split(",") if n.strip())


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None  # None: unset unless given
    meaning: str
    parse: Callable[[str], Any] = str
    secret: bool = False


DATA_DIR_ENV = "AMOP_DATA_DIR"
DATABASE_URL_ENV = "AMOP_DATABASE_URL"
DAGSTER_PG_URL_ENV = "DAGSTER_PG_URL"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
CALLBACK_SECRET_ENV = "AMOP_CALLBACK_SECRET"
CALLBACK_USERNAME_ENV = "AMOP_CALLBACK_USERNAME"
CARRIER_BASE_URL_ENV = "AMOP_CARRIER_BASE_URL"
STEP_STORAGE_ENV = "AMOP_STEP_STORAGE"
S3_ENDPOINT_URL_ENV = "AMOP_S3_ENDPOINT_URL"
CALLBACK_HOST_ENV = "AMOP_CALLBACK_HOST"
TOKEN_ENV = "AMOP_TOKEN"
BACKLOG_ALERT_ENV = "AMOP_BACKLOG_ALERT_MINUTES"
CALLBACK_PORT_ENV = "AMOP_CALLBACK_PORT"

SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(DATA_DIR_ENV, "data", "embedded database, Dagster storage, reports, mail outbox", folder),
        Setting(
            DATABASE_URL_ENV,
            None,
            "the AMOP database URL (SQLite in the data folder without it)",
            url("postgresql", "sqlite"),
            secret=True,
        ),
        Setting(
            DAGSTER_PG_URL_ENV,
            None,
            "Dagster's runs, events and schedules in PostgreSQL",
            url("postgresql"),
            secret=True,
        ),
        Setting(
            DAGSTER_HOME_ENV, None, "the folder holding dagster.yaml for the daemon and webserver", folder
        ),
        Setting("AMOP_EXECUTOR", "multiprocess", "where steps run", one_of("multiprocess", "celery")),
        Setting(
            "AMOP_CELERY_BROKER",
            "pyamqp://guest:guest@127.0.0.1:5672//",
            "the Celery broker",
            url("pyamqp", "amqp", "amqps", "redis", "rediss"),
            secret=True,
        ),
        Setting(
            "AMOP_CELERY_BACKEND",
            "redis://127.0.0.1:6379/0",
            "the Celery result backend",
            url("redis", "rediss", "rpc", "db"),
            secret=True,
        ),
        Setting(
            STEP_STORAGE_ENV,
            None,
            "where steps hand outputs to each other: a folder, or s3://bucket/prefix across hosts",
            step_storage,
        ),
        Setting(
            S3_ENDPOINT_URL_ENV,
            None,
            "an S3-compatible store's URL (MinIO, Ceph, ...) for step storage",
            url("http", "https"),
        ),
        Setting(
            CARRIER_BASE_URL_ENV,
            "http://127.0.0.1:8710",
            "carrier base URL of accounts without their own",
            url("http", "https"),
        ),
        Setting(
            CALLBACK_SECRET_ENV,
            None,
            "the password the carrier echoes in each callback body (16 characters or more)",
            secret_text(16),
            secret=True,
        ),
        Setting(CALLBACK_USERNAME_ENV, "amop", "the username the carrier echoes beside it", secret_text(1)),
        Setting(
            "AMOP_CALLBACK_URL",
            None,
            "the receiver's public URL, for amop callbacks register",
            url("http", "https"),
        ),
        Setting(CALLBACK_HOST_ENV, "127.0.0.1", "where amop callbacks serve listens", host),
        Setting(CALLBACK_PORT_ENV, "8720", "the port amop callbacks serve listens on", whole(1, 65535)),
        Setting("AMOP_SMTP_HOST", None, "mail server; without it mail is written to the outbox", host),
        Setting("AMOP_SMTP_PORT", "25", "mail server port", whole(1, 65535)),
        Setting("AMOP_SMTP_USERNAME", None, "mail server login", secret=True),
        Setting("AMOP_SMTP_PASSWORD", None, "mail server password", secret=True),
        Setting("AMOP_SMTP_STARTTLS", "false", "upgrade the mail connection with STARTTLS", parse_bool),
        Setting(
            "AMOP_SMTP_ALLOW_PLAIN_AUTH",
            "false",
            "send the SMTP password without STARTTLS (trusted relays)",
            parse_bool,
        ),
        Setting("AMOP_MAIL_FROM", "amop@localhost", "notification sender", addresses),
        Setting(
            "AMOP_MAIL_TO", "operations@localhost", "notification recipients (comma-separated)", addresses
        ),
        Setting("AMOP_MAIL_BCC", None, "blind copies (comma-separated)", addresses),
        Setting("AMOP_OUTBOX_DIR", None, "where unsent mail is written ($AMOP_DATA_DIR/outbox)", folder),
        Setting(
            "AMOP_PROGRESS_WEBHOOK_URL",
            None,
            "optimization milestones are also posted here",
            url("http", "https"),
        ),
        Setting(
            TOKEN_ENV,
            None,
            "your token, proving who you are to amop commands once users are set up (amop users)",
            secret_text(20),
            secret=True,
        ),
        Setting(
            BACKLOG_ALERT_ENV,
            "120",
            "minutes a change request may wait unfinished before the operations alert",
            whole(5, 100_000),
        ),
        Setting("AMOP_ARCHIVERS", "admin", "who may archive devices (comma-separated)", names),
        Setting("AMOP_APPROVAL_THRESHOLD", "1000", "requests of more devices wait for approval", whole(1)),
        Setting("AMOP_APPROVALS_REQUIRED", "1", "approvals a critical request needs", whole(0, 10)),
        Setting(
            "AMOP_ALLOW_UNAPPROVED_CRITICAL",
            "false",
            "with AMOP_APPROVALS_REQUIRED=0, let critical requests run unapproved (audited)",
            parse_bool,
        ),
    )
}
# Variables named at run time are read by `first_set`: a carrier account's credentials,
# AMOP_<PROVIDER>_<NAME> else AMOP_<INTEGRATION>_<NAME> (the names are each carrier's
# `KIND.credentials`), and the variable dagster.yaml names for Dagster's PostgreSQL URL.


def _declared(name: str) -> Setting:
    setting = SETTINGS.get(name)
    if setting is None:
        raise KeyError(f"{name} is not a declared setting (amop_pipelines/settings.py)")
    return setting


def is_set(name: str) -> bool:
    """Whether the environment gives the setting a (non-blank) value."""
    _declared(name)
    return bool(os.environ.get(name, "").strip())


def get(name: str) -> Any:
    """The setting's value, parsed; its default when unset; a `SettingError` when malformed."""
    setting = _declared(name)
    text = os.environ.get(name, "")
    if text and not text.strip():
        raise SettingError(f"{name} is blank: unset it or give it a value")
    if not text:
        if setting.default is None:
            return None
        text = setting.default
    try:
        return setting.parse(text)
    except ValueError as error:
        shown = "" if setting.secret else f"={text!r}"
        raise SettingError(f"{name}{shown}: {error}") from None


def require(name: str, why: str) -> Any:
    """The setting's value, or a `SettingError` saying it is needed and for what."""
    value = get(name)
    if value is None:
        raise SettingError(f"set {name}: {why}")
    return value


def first_set(*env_names: str) -> str | None:
    """The value of the first of these variables that is set (an account's own credential, then
    the shared one)."""
    for env_name in env_names:
        value = os.environ.get(env_name, "").strip()
        if value:
            return value
    return None


def problems() -> list[str]:
    """Every malformed setting of this environment, for a check before anything runs."""
    found = []
    for name in SETTINGS:
        try:
            get(name)
        except SettingError as error:
            found.append(str(error))
    return found


def data_dir() -> Path:
    """The folder for the embedded database, reports and the mail outbox (`./data` by default)."""
    path = Path(get(DATA_DIR_ENV)).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`AMOP_DATABASE_URL` when set (PostgreSQL in production), else the embedded SQLite file."""
    return get(DATABASE_URL_ENV) or f"sqlite:///{data_dir() / 'amop.sqlite3'}"


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`: for a program AMOP starts (`amop ui` starts
    `dagster dev`), which reads its settings the same way."""
    return {**os.environ, **overrides}


def dagster_home() -> Path | None:
    home = get(DAGSTER_HOME_ENV)
    return Path(home).expanduser().resolve() if home else None


def dagster_storage_dir() -> Path:
    """Dagster's SQLite storage: under `DAGSTER_HOME` when set, else inside the data folder."""
    return (dagster_home() or data_dir() / "dagster") / "storage"


def progress_webhook_url() -> str | None:
    """Where session milestones are posted besides the database (AMOP_PROGRESS_WEBHOOK_URL)."""
    return get("AMOP_PROGRESS_WEBHOOK_URL")
