"""Which period's usage a billing month reads: the one rule that keeps one period's usage from being
stored under another. The open period is read cycle to date; a closed one from the carrier's
history, as far back as the carrier keeps it (`CarrierKind.closed_periods_held`); a month the
carrier no longer holds, or one that has not begun, is refused with the reason."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from amop_pipelines.billing import period_containing
from amop_pipelines.carriers.base import CarrierKind
from amop_pipelines.carriers.models import UsagePeriod
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.sync.periods import provider_period


class UsageNotHeld(ValueError):
    """The carrier cannot answer this month's usage; the message says why and what to do."""


def _months_between(earlier: str, later: str) -> int:
    (y1, m1), (y2, m2) = (map(int, earlier.split("-")), map(int, later.split("-")))
    return (y2 - y1) * 12 + (m2 - m1)


def usage_period(
    provider: ServiceProvider, billing_month: str, kind: CarrierKind, now: datetime
) -> UsagePeriod:
    """The period of `billing_month` ("YYYY-MM") as the carrier reads it at `now`, or UsageNotHeld."""
    period = provider_period(provider, billing_month)
    zone = ZoneInfo(provider.time_zone)

    def local(at: datetime) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M} {provider.time_zone}"

    if now < period.starts_at:
        raise UsageNotHeld(
            f"{provider.name} {billing_month}: the billing period begins {local(period.starts_at)}; "
            "it has no usage yet"
        )
    if now < period.ends_at:
        return UsagePeriod(period.starts_at, now, period.start_date, closed=False)
    current = period_containing(
        now, provider.billing_cycle_end_day, provider.billing_cycle_end_hour, provider.time_zone
    )
    back = _months_between(billing_month, current.billing_month)
    if back > kind.closed_periods_held:
        raise UsageNotHeld(
            f"{provider.name} {billing_month}: the period closed {local(period.ends_at)}, {back} periods "
            f"ago; {kind.title} answers usage for the current period and the "
            f"{kind.closed_periods_held} before it only, so this month's usage can no longer be read"
        )
    return UsagePeriod(period.starts_at, period.ends_at, period.start_date, closed=True)
