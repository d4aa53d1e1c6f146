"""What the pipelines and the change engine need of a carrier, in AMOP's words: one client class
per carrier implements `CarrierClient`, and its module declares a `CarrierKind` for the registry."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from amop_pipelines.carriers.models import (
    CarrierDevice,
    ChangeAccepted,
    RatePlanInfo,
    UsagePeriod,
    UsageRecord,
)
from amop_pipelines.carriers.policy import Policy


class CarrierClient(Protocol):
    integration: str

    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        """Devices changed since then (all of them for None), page by page."""

    def device(self, iccid: str) -> CarrierDevice: ...

    def iter_usage(
        self, devices: Iterable[CarrierDevice], period: UsagePeriod | None = None
    ) -> Iterator[UsageRecord]:
        """Usage of these devices in the billing period (the current one to date for None), through
        bulk endpoints."""

    def rate_plans(self) -> list[RatePlanInfo]: ...

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted: ...

    def set_status(self, iccid: str, amop_status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """Move the device to one of AMOP's statuses, in whatever words and steps the carrier takes."""

    def change_customer(
        self, iccid: str, customer: str, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        """The device's customer at the carrier (only where its `KIND.keeps_customers`)."""

    def change_identifiers(
        self,
        iccid: str,
        new_iccid: str | None = None,
        new_imei: str | None = None,
        service_plan: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChangeAccepted:
        """A SIM or device swap (only where its `KIND.changes_identifiers`)."""

    def register_callbacks(self, url: str, username: str = "", password: str = "") -> list[str]:
        """Point the carrier's callbacks at AMOP's receiver; the services registered."""

    def close(self) -> None: ...


class CallbackInbox(Protocol):
    """Where a carrier's callbacks arrive (stored raw by the receiver) for a client awaiting them."""

    def collect(
        self, request_ids: Collection[str], deadline: float, expected: int
    ) -> Iterator[dict[str, Any]]:
        """Bodies of the callbacks for these carrier requests as they come in, until `expected`
        came or the monotonic `deadline` passed."""


class CarrierConfigError(ValueError):
    """A provider that cannot be reached as configured: unknown carrier, missing credentials or
    settings. The message names what to set."""


@dataclass(frozen=True)
class Target:
    """Everything a client needs for one carrier account."""

    base_url: str
    account_name: str
    credentials: Mapping[str, str]
    settings: Mapping[str, Any]
    policy: Policy
    inbox: CallbackInbox | None = None


@dataclass(frozen=True)
class CarrierKind:
    integration: str  # the service provider's `integration`
    title: str
    credentials: tuple[str, ...]  # credential names, each read from AMOP_<PROVIDER>_<NAME>
    build: Callable[[Target], CarrierClient]
    statuses: Mapping[str, str]  # AMOP status -> the carrier's word; a missing one does not exist there
    transition_problem: Callable[[str, str], str | None]  # (current, AMOP status) -> why not, or None
    spare_states: frozenset[str]  # states in which a SIM may become another device's new SIM
    waiting_states: Mapping[str, str] = field(default_factory=dict)  # state -> the AMOP status it nears
    max_in_flight: int = 1  # calls of one account at once
    settings: tuple[str, ...] = ()  # per-account settings (`service_provider.carrier_settings`)
    has_communication_plans: bool = True
    changes_identifiers: bool = False
    keeps_customers: bool = False  # the carrier holds a device's customer (Assign Customer is sent)
    plan_changes_per_month: int | None = None  # the carrier's limit of rate plan changes per device
    api_path: str = ""  # appended to the base URL
    # Closed billing periods whose usage the carrier still answers, besides the current one: a
    # month further back is refused rather than read from another period.
    closed_periods_held: int = 0
