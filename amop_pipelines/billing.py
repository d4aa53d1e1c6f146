"""Billing periods: the one module that turns a provider's cycle settings into instants.

The cycle end day is the period's last day, counted inclusive as the carriers and the seeds count
it: a cycle that ends on the 18th bills the 18th, and the next period starts on the 19th. A day past
the month's length means the month's last day (31 is "month end": February ends on the 28th or
29th). The period closes at local midnight after its end day, plus the provider's end hour (0 by
default) for carriers that cut over later in the night, in the provider's own IANA time zone.
The billing month of a period is the month of its end day; a period starts where the previous one
closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OPTIMIZATION_WINDOW_DAYS = 8


@dataclass(frozen=True)
class Period:
    billing_month: str  # "YYYY-MM", the month of the period's end day
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC; exclusive: the instant of close belongs to the next period
    time_zone: str
    start_date: date  # the period's first local day
    end_date: date  # its last local day, the cycle end day (inclusive)

    @property
    def days(self) -> int:
        """Days in the cycle, in local calendar days (DST changes do not matter)."""
        return billed_days(self.start_date, self.end_date)

    def days_elapsed(self, at: datetime) -> float:
        """Fraction-aware days of the cycle elapsed at `at`, between 0 and `days`."""
        span = (self.ends_at - self.starts_at).total_seconds()
        done = min(max((at - self.starts_at).total_seconds(), 0.0), span)
        return self.days * done / span


def billed_days(first: date, last: date) -> int:
    """Local days from `first` to `last`, both billed (the end day is the period's last day)."""
    return (last - first).days + 1


def _last_day(year: int, month: int, end_day: int) -> date:
    return date(year, month, min(end_day, calendar.monthrange(year, month)[1]))


def _close(last_day: date, end_hour: int, tz: ZoneInfo) -> datetime:
    """Local midnight after the last day, plus the end hour, in UTC."""
    return datetime.combine(last_day + timedelta(days=1), time(end_hour), tzinfo=tz).astimezone(UTC)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_for_month(billing_month: str, end_day: int, end_hour: int, time_zone: str) -> Period:
    """The period whose end day falls in `billing_month` ("YYYY-MM")."""
    if not 1 <= end_day <= 31:
        raise ValueError(f"billing cycle end day must be 1..31, not {end_day}")
    if not 0 <= end_hour <= 23:
        raise ValueError(f"billing cycle end hour must be 0..23, not {end_hour}")
    tz = ZoneInfo(time_zone)
    year, month = (int(part) for part in billing_month.split("-"))
    last = _last_day(year, month, end_day)
    previous_last = _last_day(*_previous_month(year, month), end_day)
    return Period(
        billing_month,
        starts_at=_close(previous_last, end_hour, tz),
        ends_at=_close(last, end_hour, tz),
        time_zone=time_zone,
        start_date=previous_last + timedelta(days=1),
        end_date=last,
    )


def period_containing(at: datetime, end_day: int, end_hour: int, time_zone: str) -> Period:
    """The period that `at` (an aware datetime) falls in."""
    local = at.astimezone(ZoneInfo(time_zone))
    year, month = local.year, local.month
    period = period_for_month(f"{year:04d}-{month:02d}", end_day, end_hour, time_zone)
    if at < period.starts_at:
        year, month = _previous_month(year, month)
    elif at >= period.ends_at:
        year, month = _next_month(year, month)
    else:
        return period
    return period_for_month(f"{year:04d}-{month:02d}", end_day, end_hour, time_zone)


def last_closed_period(at: datetime, end_day: int, end_hour: int, time_zone: str) -> Period:
    """The period before the one `at` falls in: the latest that has closed."""
    current = period_containing(at, end_day, end_hour, time_zone)
    year, month = _previous_month(*(int(part) for part in current.billing_month.split("-")))
    return period_for_month(f"{year:04d}-{month:02d}", end_day, end_hour, time_zone)


def window_opens_at(period: Period) -> datetime:
    """The optimization window is the period's last 8 local days: it opens at local midnight."""
    first = period.end_date - timedelta(days=OPTIMIZATION_WINDOW_DAYS - 1)
    return datetime.combine(first, time(0), tzinfo=ZoneInfo(period.time_zone)).astimezone(UTC)
