"""What the carriers answer, as typed values both clients return alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

BYTES_PER_MB = 1024 * 1024


@dataclass(frozen=True)
class CarrierDevice:
    iccid: str
    status: str
    rate_plan: str | None
    communication_plan: str | None
    imei: str | None = None
    msisdn: str | None = None
    imsi: str | None = None
    customer: str | None = None
    date_activated: datetime | None = None
    date_updated: datetime | None = None


@dataclass(frozen=True)
class UsagePeriod:
    """The billing period whose usage is read. An open period is read cycle to date; a closed one
    from the carrier's history, which Control Center names by the cycle's first day (in the
    provider's zone, hence carried here rather than derived from `start`)."""

    start: datetime  # aware, UTC
    end: datetime  # aware, UTC: the period's end when closed, now while open
    cycle_start: date
    closed: bool


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Usage of one device in a billing period."""

    iccid: str
    data_bytes: int
    sms_count: int

    @property
    def data_mb(self) -> Decimal:
        return Decimal(self.data_bytes) / BYTES_PER_MB


@dataclass(frozen=True)
class RatePlanInfo:
    """A plan as the carrier lists it: its code (what devices and changes name), a display name
    and the allowance when the carrier says it. Never a price: neither carrier publishes one."""

    code: str
    name: str
    allowance_mb: Decimal | None = None


@dataclass(frozen=True)
class ChangeAccepted:
    """The carrier took a change: applied at once (Jasper), or later with a callback (ThingSpace)."""

    iccid: str
    request_id: str | None
    asynchronous: bool
