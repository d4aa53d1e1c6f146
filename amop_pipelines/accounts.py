"""Carrier accounts (service providers) as an operator sets them up: added, listed and edited
from the CLI, every value validated before anything is stored, every change audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines.carriers.registry import CARRIERS
from amop_pipelines.changes.requests import audit
from amop_pipelines.db.models import ServiceProvider

EDITABLE = (
    "account_name",
    "base_url",
    "time_zone",
    "billing_cycle_end_day",
    "billing_cycle_end_hour",
    "optimization_start_hour",
    "rate_limit_per_second",
    "auto_update_rate_plans",
    "is_active",
    "mail_to",
    "currency",
)
MAX_SETTINGS_CHARS = 10_000
MAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")  # an ISO 4217 code


class AccountError(ValueError):
    """The account cannot be stored as given: one line per problem, naming the field."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Account:
    name: str
    integration: str
    account_name: str
    time_zone: str
    billing_cycle_end_day: int
    billing_cycle_end_hour: int
    optimization_start_hour: int
    rate_limit_per_second: int
    auto_update_rate_plans: bool
    is_active: bool
    base_url: str | None
    carrier_settings: dict[str, Any]
    mail_to: str | None = None
    currency: str = "USD"

    def line(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(self.carrier_settings.items())) or "-"
        return (
            f"{self.name}  [{self.integration}, account {self.account_name}]  {self.time_zone}, "
            f"cycle ends day {self.billing_cycle_end_day}, "
            f"closes {self.billing_cycle_end_hour:02d}:00 the next day, "
            f"window from {self.optimization_start_hour:02d}:00, {self.rate_limit_per_second}/s, "
            f"auto updates {'on' if self.auto_update_rate_plans else 'off'}, {self.currency}, "
            f"{'active' if self.is_active else 'inactive'}; settings: {settings}; "
            f"mail to: {self.mail_to or 'the default recipients'}"
        )


def _problems(values: dict[str, Any], integration: str) -> list[str]:
    problems = []

    def bounded(field: str, low: int, high: int) -> None:
        if field in values and not (isinstance(values[field], int) and low <= values[field] <= high):
            problems.append(f"{field}: {values[field]!r} must be a whole number from {low} to {high}")

    if integration not in CARRIERS:
        problems.append(f"integration: '{integration}' is not a carrier AMOP speaks ({', '.join(CARRIERS)})")
    if "name" in values and not str(values["name"]).strip():
        problems.append("name: must not be blank")
    if "account_name" in values and not str(values["account_name"]).strip():
        problems.append("account_name: must not be blank")
    if values.get("time_zone") is not None:
        try:
            ZoneInfo(values["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"time_zone: '{values['time_zone']}' is not an IANA time zone (e.g. America/Chicago)"
            )
    if values.get("base_url") and not str(values["base_url"]).startswith(("http://", "https://")):
        problems.append(f"base_url: '{values['base_url']}' must start with http:// or https://")
    if values.get("mail_to") is not None:
        addresses = [a.strip() for a in str(values["mail_to"]).split(",")]
        wrong = [a for a in addresses if not MAIL.match(a)]
        if wrong:
            problems.append(f"mail_to: {wrong[0]!r} is not a mail address (give addresses, comma-separated)")
    if values.get("currency") is not None and not CURRENCY.match(str(values["currency"])):
        problems.append(
            f"currency: {values['currency']!r} is not an ISO 4217 code (three capitals, e.g. USD)"
        )
    for field in ("name", "account_name", "base_url", "mail_to"):
        limit = ServiceProvider.__table__.c[field].type.length  # the column's own bound
        if values.get(field) is not None and len(str(values[field])) > limit:
            problems.append(f"{field}: {len(str(values[field])):,} characters, at most {limit}")
    settings_text = repr(values.get("carrier_settings") or {})
    if len(settings_text) > MAX_SETTINGS_CHARS:
        problems.append(
            f"carrier settings: {len(settings_text):,} characters, at most {MAX_SETTINGS_CHARS:,}"
        )
    bounded("billing_cycle_end_day", 1, 31)
    bounded("billing_cycle_end_hour", 0, 23)
    bounded("optimization_start_hour", 0, 23)
    bounded("rate_limit_per_second", 1, 10_000)
    if integration in CARRIERS:
        allowed = CARRIERS[integration].settings
        for key in values.get("carrier_settings", {}):
            if key not in allowed:
                known = ", ".join(allowed) or "none"
                problems.append(f"setting {key}: {integration} takes no such setting (it takes: {known})")
    return problems


def _audit(connection, by: str, name: str, action: str, before: dict | None, after: dict) -> None:
    audit(connection, by, "service_provider", name, None, action, before, after)


def _account(row: ServiceProvider) -> Account:
    return Account(
        row.name,
        row.integration,
        row.account_name,
        row.time_zone,
        row.billing_cycle_end_day,
        row.billing_cycle_end_hour,
        row.optimization_start_hour,
        row.rate_limit_per_second,
        row.auto_update_rate_plans,
        row.is_active,
        row.base_url,
        dict(row.carrier_settings or {}),
        row.mail_to,
        row.currency,
    )


def add_account(engine: Engine, values: dict[str, Any], by: str) -> Account:
    """A new carrier account; AccountError (nothing stored) when any value is wrong."""
    values = {k: v for k, v in values.items() if v is not None}
    required = ("name", "integration", "account_name", "time_zone", "billing_cycle_end_day")
    problems = [f"{field}: is required" for field in required if field not in values]
    problems += _problems(values, values.get("integration", ""))
    with engine.begin() as connection:
        if "name" in values and connection.scalar(
            select(ServiceProvider.id).where(ServiceProvider.name == values["name"])
        ):
            problems.append(f"name: an account named '{values['name']}' exists already")
        if problems:
            raise AccountError(problems)
        connection.execute(ServiceProvider.__table__.insert().values(**values))
        _audit(connection, by, values["name"], "account added", None, values)
    return list_accounts(engine, values["name"])[0]


def edit_account(engine: Engine, name: str, changes: dict[str, Any], by: str) -> Account:
    """Changes to an account (settings merged into its carrier settings); audited before/after."""
    changes = {k: v for k, v in changes.items() if v is not None}
    found = list_accounts(engine, name)
    if not found:
        raise AccountError([f"name: no account named '{name}'"])
    current = found[0]
    with engine.begin() as connection:
        problems = [
            f"{field}: cannot be edited" for field in changes if field not in (*EDITABLE, "carrier_settings")
        ]
        problems += _problems(changes, current.integration)
        if not changes:
            problems.append("nothing to change: give at least one option")
        if problems:
            raise AccountError(problems)
        if "carrier_settings" in changes:
            changes["carrier_settings"] = {**current.carrier_settings, **changes["carrier_settings"]}
        before = {field: getattr(current, field) for field in changes}
        connection.execute(
            ServiceProvider.__table__.update().where(ServiceProvider.name == name).values(**changes)
        )
        _audit(connection, by, name, "account edited", before, changes)
    return list_accounts(engine, name)[0]


def list_accounts(engine: Engine, name: str | None = None) -> list[Account]:
    query = select(ServiceProvider).order_by(ServiceProvider.name)
    if name is not None:
        query = query.where(ServiceProvider.name == name)
    with Session(engine) as session:
        return [_account(row) for row in session.scalars(query)]
