"""What the carriers answer, as typed values both clients return alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
class UsageRecord:
    """Cycle-to-date usage of one device."""

    iccid: str
    data_bytes: int
    sms_count: int

    @property
    def data_mb(self) -> Decimal:
        return Decimal(self.data_bytes) / BYTES_PER_MB


def _decimal(value: object) -> Decimal | None:
    """Carriers send numbers as JSON numbers or strings; money must not pass through float."""
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class RatePlanInfo:
    name: str
    monthly_charge: Decimal | None = None
    included_mb: Decimal | None = None
    overage_rate: Decimal | None = None
    overage_unit_mb: Decimal | None = None
    pooled: bool | None = None

    @classmethod
    def parse(
        cls, name: str, charge: object, included: object, rate: object, unit: object, pooled: object
    ) -> RatePlanInfo:
        return cls(name, _decimal(charge), _decimal(included), _decimal(rate), _decimal(unit), pooled)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChangeAccepted:
    """The carrier took a change: applied at once (Jasper), or later with a callback (ThingSpace)."""

    iccid: str
    request_id: str | None
    asynchronous: bool
