"""`amop providers`: carrier accounts added, listed and edited, validated like every input, audited."""

import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import AuditLog, ServiceProvider
from amop_pipelines.settings import database_url

ADD = [
    "providers",
    "add",
    "--name",
    "Globex Fleet",
    "--integration",
    "thingspace",
    "--account",
    "0342351414-00001",
    "--time-zone",
    "America/Denver",
    "--cycle-end-day",
    "18",
    "--cycle-end-hour",
    "6",
    "--start-hour",
    "7",
    "--rate-limit",
    "25",
    "--auto-update",
    "--setting",
    "mdn_zip_code=80202",
    "--mail-to",
    "fleet@globex.example, billing@globex.example",
    "--by",
    "admin",
]


def _amop(*args: str):
    return CliRunner().invoke(main, list(args))


def _stored() -> tuple[int, int]:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        counts = (
            connection.scalar(sa.select(sa.func.count()).select_from(ServiceProvider)),
            connection.scalar(sa.select(sa.func.count()).select_from(AuditLog)),
        )
    engine.dispose()
    return counts


def test_an_account_is_added_listed_and_edited_with_an_audit_trail(amop_env):
    added = _amop(*ADD)
    assert added.exit_code == 0, added.output
    assert "Globex Fleet  [thingspace, account 0342351414-00001]  America/Denver" in added.output
    listed = _amop("providers", "list").output
    assert (
        "cycle ends day 18, closes 06:00 the next day, window from 07:00, 25/s, auto updates on, USD, active"
        in listed
    )
    assert "settings: mdn_zip_code=80202" in listed and listed.strip().endswith("1 accounts")
    assert "mail to: fleet@globex.example, billing@globex.example" in listed

    edited = _amop(
        "providers",
        "edit",
        "Globex Fleet",
        "--rate-limit",
        "40",
        "--setting",
        "service_type=4G",
        "--by",
        "ops",
    )
    assert edited.exit_code == 0, edited.output
    assert "40/s" in edited.output and "mdn_zip_code=80202, service_type=4G" in edited.output
    engine = make_engine(database_url())
    with engine.connect() as connection:
        trail = connection.execute(
            sa.select(AuditLog.actor, AuditLog.action, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity_type == "service_provider")
            .order_by(AuditLog.id)
        ).all()
    engine.dispose()
    assert [(t.actor, t.action) for t in trail] == [("admin", "account added"), ("ops", "account edited")]
    assert trail[1].before["rate_limit_per_second"] == 25 and trail[1].after["rate_limit_per_second"] == 40


def test_bad_values_are_refused_by_field_and_nothing_is_stored(amop_env):
    assert _amop(*ADD).exit_code == 0
    before = _stored()
    refused = _amop(
        "providers",
        "add",
        "--name",
        "Bad",
        "--integration",
        "sprint",
        "--account",
        "x",
        "--time-zone",
        "Mars/Olympus",
        "--cycle-end-day",
        "32",
        "--by",
        "admin",
    )
    assert refused.exit_code == 1
    assert "integration: 'sprint' is not a carrier AMOP speaks (jasper, thingspace)" in refused.output
    assert "time_zone: 'Mars/Olympus' is not an IANA time zone" in refused.output
    assert "billing_cycle_end_day: 32 must be a whole number from 1 to 31" in refused.output
    again = _amop(*ADD)
    assert again.exit_code == 1 and "an account named 'Globex Fleet' exists already" in again.output
    unknown_setting = _amop("providers", "edit", "Globex Fleet", "--setting", "apn=iot", "--by", "ops")
    assert "setting apn: thingspace takes no such setting" in unknown_setting.output
    bad_mail = _amop("providers", "edit", "Globex Fleet", "--mail-to", "ops@x.example, nobody", "--by", "ops")
    assert "mail_to: 'nobody' is not a mail address" in bad_mail.output
    bad_currency = _amop("providers", "edit", "Globex Fleet", "--currency", "dollars", "--by", "ops")
    assert "currency: 'dollars' is not an ISO 4217 code" in bad_currency.output
    bad_hour = _amop("providers", "edit", "Globex Fleet", "--start-hour", "24", "--by", "ops")
    assert "optimization_start_hour: 24 must be a whole number from 0 to 23" in bad_hour.output
    assert (
        "no account named 'Nobody'"
        in _amop("providers", "edit", "Nobody", "--rate-limit", "3", "--by", "o").output
    )
    assert _stored() == before


def test_text_longer_than_its_column_is_refused_by_field_and_nothing_is_stored(amop_env):
    """PostgreSQL refuses a 101-character name in VARCHAR(100) with a traceback; SQLite would keep
    it: both are told the limit up front."""
    assert _amop(*ADD).exit_code == 0
    before = _stored()
    values = {"--name": "N" * 101, "--account": "A" * 101, "--base-url": "https://" + "u" * 500}
    args = [a for pair in values.items() for a in pair]
    refused = _amop(
        "providers", "add", "--integration", "jasper", "--time-zone", "UTC", *args, "--by", "admin"
    )
    assert refused.exit_code == 1
    assert "name: 101 characters, at most 100" in refused.output
    assert "account_name: 101 characters, at most 100" in refused.output
    assert "base_url: 508 characters, at most 500" in refused.output
    assert _stored() == before
