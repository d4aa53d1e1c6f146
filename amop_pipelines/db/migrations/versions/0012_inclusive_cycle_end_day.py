"""the cycle end day is billed: periods already stored move to the inclusive rule

A provider's cycle end day used to be the first day of the next period (a cycle "ending on the 18th"
closed at the 18th's midnight); it is now the period's last day, as the carriers count it. Every
stored period is recomputed from its provider's settings, so that the rows and `billing.py` agree.
The rule is written out here, frozen, rather than imported: a migration must mean the same forever.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 05:00:00
"""

import calendar
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

provider = sa.table(
    "service_provider",
    sa.column("id", sa.Integer),
    sa.column("billing_cycle_end_day", sa.Integer),
    sa.column("billing_cycle_end_hour", sa.Integer),
)
period = sa.table(
    "billing_period",
    sa.column("id", sa.Integer),
    sa.column("service_provider_id", sa.Integer),
    sa.column("billing_month", sa.String),
    sa.column("start_date", sa.Date),
    sa.column("end_date", sa.Date),
    sa.column("starts_at", sa.DateTime(timezone=True)),
    sa.column("ends_at", sa.DateTime(timezone=True)),
    sa.column("time_zone", sa.String),
)


def _end_day(year: int, month: int, end_day: int) -> date:
    return date(year, month, min(end_day, calendar.monthrange(year, month)[1]))


def _bounds(month: str, end_day: int, end_hour: int, zone: str, inclusive: bool) -> dict:
    year, number = (int(part) for part in month.split("-"))
    before = (year - 1, 12) if number == 1 else (year, number - 1)
    tz, shift = ZoneInfo(zone), timedelta(days=1 if inclusive else 0)
    last, previous = _end_day(year, number, end_day), _end_day(*before, end_day)

    def close(day: date) -> datetime:
        return datetime.combine(day + shift, time(end_hour), tzinfo=tz).astimezone(UTC)

    return {
        "start_date": previous + shift,
        "end_date": last,  # the old rule's day of close, the new rule's last day: the same date
        "starts_at": close(previous),
        "ends_at": close(last),
    }


def _recompute(inclusive: bool) -> None:
    bind = op.get_bind()
    naive = bind.dialect.name == "sqlite"  # SQLite keeps UTC without a zone (db/base.UtcDateTime)
    rows = bind.execute(
        sa.select(
            period.c.id,
            period.c.billing_month,
            period.c.time_zone,
            provider.c.billing_cycle_end_day,
            provider.c.billing_cycle_end_hour,
        ).join(provider, provider.c.id == period.c.service_provider_id)
    ).all()
    for row in rows:
        values = _bounds(
            row.billing_month, row.billing_cycle_end_day, row.billing_cycle_end_hour, row.time_zone, inclusive
        )
        if naive:
            values = {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in values.items()}
        bind.execute(sa.update(period).where(period.c.id == row.id).values(**values))


def upgrade() -> None:
    _recompute(inclusive=True)


def downgrade() -> None:
    _recompute(inclusive=False)
