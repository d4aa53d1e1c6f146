"""The optimization window: when a provider's optimization runs, in its own time zone.

The window is the last 8 local days of the billing period (`billing.window_opens_at`). In it,
one run a day; on the final day (the cycle end day, the period's last local day), one run an hour
from the provider's optimization start hour. A run never starts while one of the provider's runs is
going on, except on the final day, when every hour counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from amop_pipelines.billing import period_containing, window_opens_at


@dataclass(frozen=True)
class WindowSlot:
    provider: str
    billing_month: str  # "YYYY-MM"
    local_date: str  # "YYYY-MM-DD" in the provider's zone
    hour: int | None  # the local hour, on the final day only
    final_day: bool

    @property
    def run_key(self) -> str:
        """The same key for every tick of the same slot, so that repeated ticks start one run."""
        base = f"optimization|{self.provider}|{self.billing_month}|{self.local_date}"
        return base if self.hour is None else f"{base}|{self.hour:02d}"


def window_slot(
    now: datetime, provider: str, end_day: int, end_hour: int, time_zone: str, start_hour: int
) -> WindowSlot | None:
    """The slot `now` falls in, or None outside the window (or before the final day's start hour)."""
    period = period_containing(now, end_day, end_hour, time_zone)
    if now < window_opens_at(period):
        return None
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    if local.date() >= period.end_date:  # the end day, and the night after it up to a late end hour
        if local.hour < start_hour:
            return None
        return WindowSlot(provider, period.billing_month, local.date().isoformat(), local.hour, True)
    return WindowSlot(provider, period.billing_month, local.date().isoformat(), None, False)


def may_start(slot: WindowSlot, provider_busy: bool) -> bool:
    """No overlapping sessions for a provider, except on the final day."""
    return slot.final_day or not provider_busy
