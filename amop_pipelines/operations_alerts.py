"""What an operations team is told about, once per episode: an account whose carrier keeps timing
out, refuses AMOP's credentials or has its circuit open; a change backlog older than a threshold;
callbacks overdue in bulk.

Each condition is read from the AMOP database as it stands (the change items' last errors and
states, the requests' ages), so any process can evaluate it; an episode starts when a condition
appears and ends when it is gone (`operations_alert_sensor` keeps the open ones in its cursor, so
one episode is one mail however long it lasts).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, select

from amop_pipelines.changes.callbacks import CALLBACK_TIMEOUT
from amop_pipelines.db.models import ChangeItem, ChangeRequest, Device, ServiceProvider

CARRIER_WINDOW = timedelta(minutes=15)  # errors this recent count
CARRIER_ERRORS = 5  # errors of one kind on one account within the window make an episode
OVERDUE_CALLBACKS = 10  # items past the callback timeout on one account make an episode

# (what the errors say, how to say it, what to check), for each carrier symptom
SYMPTOMS = {
    "timeouts": (
        re.compile(r"timed out|Timeout", re.IGNORECASE),
        "carrier calls time out",
        "the carrier's status page and the network path from AMOP to its base URL",
    ),
    "authentication": (
        re.compile(r"answered 40[13]\b"),
        "the carrier refuses AMOP's credentials",
        "the account's credentials (AMOP_<ACCOUNT>_... variables): expired, rotated or revoked",
    ),
    "circuit": (
        re.compile(r"circuit open"),
        "the circuit breaker opened: calls are held back",
        "the carrier's availability; calls resume by themselves after the cool-down",
    ),
}


@dataclass(frozen=True)
class Condition:
    key: str  # stable while the episode lasts: kind and account
    account: str
    subject: str
    body: str
    recipients: str | None  # the account's own, else the default ones


def current_conditions(engine: Engine, now: datetime, backlog_minutes: int) -> list[Condition]:
    found = _carrier_trouble(engine, now) + _overdue_callbacks(engine, now)
    return found + _backlog(engine, now, backlog_minutes)


def _items_by_account(engine: Engine, *where) -> list[tuple[str, str | None, str | None, datetime]]:
    with engine.connect() as connection:
        return connection.execute(
            select(
                ServiceProvider.name, ServiceProvider.mail_to, ChangeItem.last_error, ChangeItem.updated_at
            )
            .join(Device, Device.id == ChangeItem.device_id)
            .join(ServiceProvider, ServiceProvider.id == Device.service_provider_id)
            .where(*where)
        ).all()


def _carrier_trouble(engine: Engine, now: datetime) -> list[Condition]:
    rows = _items_by_account(
        engine, ChangeItem.updated_at >= now - CARRIER_WINDOW, ChangeItem.last_error.is_not(None)
    )
    counts: Counter[tuple[str, str]] = Counter()
    mail_to: dict[str, str | None] = {}
    examples: dict[tuple[str, str], str] = {}
    for account, recipients, error, _ in rows:
        mail_to[account] = recipients
        for kind, (pattern, _, _) in SYMPTOMS.items():
            if pattern.search(error or ""):
                counts[account, kind] += 1
                examples.setdefault((account, kind), error or "")
    conditions = []
    for (account, kind), count in sorted(counts.items()):
        if count < CARRIER_ERRORS:
            continue
        _, what, check = SYMPTOMS[kind]
        conditions.append(
            Condition(
                f"carrier-{kind}:{account}",
                account,
                f"AMOP alert: {account}: {what}",
                f"{count} change items of {account} met this in the last "
                f"{CARRIER_WINDOW.seconds // 60} minutes.\nExample: {examples[account, kind][:300]}\n"
                f"Check: {check}.",
                mail_to[account],
            )
        )
    return conditions


def _overdue_callbacks(engine: Engine, now: datetime) -> list[Condition]:
    rows = _items_by_account(
        engine, ChangeItem.state == "awaiting_callback", ChangeItem.updated_at < now - CALLBACK_TIMEOUT
    )
    counts = Counter(account for account, *_ in rows)
    mail_to = {account: recipients for account, recipients, *_ in rows}
    return [
        Condition(
            f"callbacks-overdue:{account}",
            account,
            f"AMOP alert: {account}: {count} callbacks overdue",
            f"{count} items of {account} have waited more than {CALLBACK_TIMEOUT.seconds // 60} minutes "
            "for the carrier's callback.\nCheck: that `amop callbacks serve` runs and is reachable at "
            "the registered URL (`amop callbacks register`), and AMOP_CALLBACK_SECRET; the "
            "reconciliation checks these items on the carrier meanwhile.",
            mail_to[account],
        )
        for account, count in sorted(counts.items())
        if count >= OVERDUE_CALLBACKS
    ]


def _backlog(engine: Engine, now: datetime, minutes: int) -> list[Condition]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ServiceProvider.name,
                ServiceProvider.mail_to,
                func.count(ChangeRequest.id),
                func.min(ChangeRequest.created_at),
            )
            .join(ServiceProvider, ServiceProvider.id == ChangeRequest.service_provider_id)
            .where(
                and_(
                    ChangeRequest.state.in_(("pending", "running", "scheduled", "awaiting_callbacks")),
                    ChangeRequest.created_at < now - timedelta(minutes=minutes),
                )
            )
            .group_by(ServiceProvider.name, ServiceProvider.mail_to)
        ).all()
    return [
        Condition(
            f"backlog:{account}",
            account,
            f"AMOP alert: {account}: {count} change requests waiting over {minutes} minutes",
            f"{count} change requests of {account} are not finished after {minutes} minutes (the oldest "
            f"filed {oldest:%Y-%m-%d %H:%M} UTC).\nCheck: that the Dagster daemon runs "
            "(change_requests_sensor launches them), the run queue, and `amop changes list --provider "
            f"'{account}'` for requests held after failed runs.",
            recipients,
        )
        for account, recipients, count, oldest in rows
        if count
    ]
