"""The interface every carrier client offers the pipelines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Protocol

from amop_pipelines.carriers.models import CarrierDevice, ChangeAccepted, RatePlanInfo, UsageRecord


class CarrierClient(Protocol):
    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        """Devices changed since then (all of them for None), page by page."""

    def device(self, iccid: str) -> CarrierDevice: ...

    def iter_usage(self, devices: Iterable[CarrierDevice]) -> Iterator[UsageRecord]:
        """Cycle-to-date usage of these devices, through the carrier's bulk endpoints."""

    def rate_plans(self) -> list[RatePlanInfo]: ...

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted: ...

    def change_status(self, iccid: str, status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """`status` in the carrier's own vocabulary (see `carriers.statuses`)."""

    def change_identifiers(
        self,
        iccid: str,
        new_iccid: str | None = None,
        new_imei: str | None = None,
        service_plan: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChangeAccepted: ...

    def register_callback(self, url: str) -> None: ...

    def close(self) -> None: ...
