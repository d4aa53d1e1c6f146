"""Billing periods: the one module that turns a provider's cycle settings into instants.

A provider's period ends on its cycle end day (clamped to the month's length) at its cycle end
hour, in its own IANA time zone. The billing month of a period is the month in which it ends;
a period starts where the previous one ended.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

OPTIMIZATION_WINDOW_DAYS = 8


@dataclass(frozen=True)
class Period:
    billing_month: str  # "YYYY-MM", the month in which the period ends
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC; exclusive
    time_zone: str

    @property
    def start_date(self) -> date:
        return self.starts_at.astimezone(ZoneInfo(self.time_zone)).date()

    @property
    def end_date(self) -> date:
        return self.ends_at.astimezone(ZoneInfo(self.time_zone)).date()

    @property
    def days(self) -> int:
        """Days in the cycle, counted in local calendar days (so DST changes do not matter)."""
        return (self.end_date - self.start_date).days

    def days_elapsed(self, at: datetime) -> float:
        """Fraction-aware days of the cycle elapsed at `at`, between 0 and `days`."""
        span = (self.ends_at - self.starts_at).total_seconds()
        done = min(max((at - self.starts_at).total_seconds(), 0.0), span)
        return self.days * done / span


def _end_instant(year: int, month: int, end_day: int, end_hour: int, tz: ZoneInfo) -> datetime:
    day = min(end_day, calendar.monthrange(year, month)[1])
    return datetime(year, month, day, end_hour, tzinfo=tz).astimezone(UTC)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_for_month(billing_month: str, end_day: int, end_hour: int, time_zone: str) -> Period:
    """The period that ends in `billing_month` ("YYYY-MM")."""
    if not 1 <= end_day <= 31:
        raise ValueError(f"billing cycle end day must be 1..31, not {end_day}")
    if not 0 <= end_hour <= 23:
        raise ValueError(f"billing cycle end hour must be 0..23, not {end_hour}")
    tz = ZoneInfo(time_zone)
    year, month = (int(part) for part in billing_month.split("-"))
    ends_at = _end_instant(year, month, end_day, end_hour, tz)
    starts_at = _end_instant(*_previous_month(year, month), end_day, end_hour, tz)
    return Period(billing_month, starts_at, ends_at, time_zone)


def period_containing(at: datetime, end_day: int, end_hour: int, time_zone: str) -> Period:
    """The period that `at` (an aware datetime) falls in."""
    local = at.astimezone(ZoneInfo(time_zone))
    year, month = local.year, local.month
    period = period_for_month(f"{year:04d}-{month:02d}", end_day, end_hour, time_zone)
    if at >= period.ends_at:
        year, month = _next_month(year, month)
        period = period_for_month(f"{year:04d}-{month:02d}", end_day, end_hour, time_zone)
    return period


def window_opens_at(period: Period) -> datetime:
    """The optimization window is the period's last 8 local days."""
    tz = ZoneInfo(period.time_zone)
    local_end = period.ends_at.astimezone(tz)
    opens_local = (local_end.replace(tzinfo=None) - timedelta(days=OPTIMIZATION_WINDOW_DAYS)).replace(
        tzinfo=tz
    )
    return opens_local.astimezone(UTC)
