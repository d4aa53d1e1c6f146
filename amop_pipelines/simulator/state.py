"""The simulator's world: devices of both carriers, its clock, tokens and what it applied."""

from __future__ import annotations

import calendar
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from amop_pipelines.simulator.faults import FaultBook

JASPER_STATUSES = (
    "ACTIVATED",
    "DEACTIVATED",
    "TEST_READY",
    "ACTIVATION_READY",
    "INVENTORY",
    "RETIRED",
    "PURGED",
    "REPLACED",
)
# Jasper status changes the simulator allows: from -> to
JASPER_TRANSITIONS = {
    "INVENTORY": {"TEST_READY", "ACTIVATION_READY", "ACTIVATED", "RETIRED"},
    "TEST_READY": {"ACTIVATION_READY", "ACTIVATED", "INVENTORY", "RETIRED"},
    "ACTIVATION_READY": {"ACTIVATED", "DEACTIVATED", "RETIRED"},
    "ACTIVATED": {"DEACTIVATED", "RETIRED"},
    "DEACTIVATED": {"ACTIVATED", "RETIRED"},
    "RETIRED": {"PURGED"},
    "PURGED": set(),
    "REPLACED": set(),
}
# ThingSpace actions: action -> (states it applies to, resulting state). A device in
# `pending activation` is on its way to active: activating it again is refused.
THINGSPACE_ACTIONS = {
    "activate": ({"deactive", "pre-active"}, "active"),
    "suspend": ({"active"}, "suspend"),
    "restore": ({"suspend"}, "active"),
    "deactivate": ({"active", "suspend"}, "deactive"),
}
PLAN_CHANGES_PER_MONTH = 4
MAX_DEVICES_PER_REQUEST = 10_000


@dataclass
class SimDevice:
    carrier: str
    iccid: str
    imei: str
    msisdn: str
    imsi: str
    status: str
    rate_plan: str
    communication_plan: str
    customer: str | None
    bytes_per_day: float
    sms_per_day: float
    date_added: datetime
    date_activated: datetime | None
    date_updated: datetime
    plan_changes: list[datetime] = field(default_factory=list)
    device_id: int = 0  # ThingSpace's internal numeric id: its list order and paging cursor
    pending_until: datetime | None = None  # `pending activation` ends then

    @property
    def key(self) -> str:
        """Where the state files the device: its ICCID, or its numeric id when it has none."""
        return self.iccid or f"#{self.device_id}"


@dataclass
class CallbackRegistration:
    """A ThingSpace callback service of the account: where and with what it calls back."""

    name: str
    url: str
    username: str = ""
    password: str = ""


@dataclass
class SimRatePlan:
    """A carrier's plan as its API shows it: a code, a name and an allowance, never a price
    (prices are the operator's contract data, CARRIERS.md)."""

    carrier: str
    code: str
    name: str
    allowance_mb: float
    plan_type: str = "M2M"

    @property
    def size_kb(self) -> int:
        return round(self.allowance_mb * 1024)


@dataclass
class Operation:
    """A mutation the simulator applied: the proof, for tests, that nothing was applied twice."""

    sequence: int
    carrier: str
    operation: str
    iccid: str
    details: dict[str, Any]
    request_id: str  # the carrier's request id (ThingSpace) or the client's X-Request-ID (Jasper)
    at: str


@dataclass
class Credentials:
    jasper_username: str = "amop-demo"
    jasper_api_key: str = "demo-jasper-api-key"
    thingspace_client_id: str = "demo-ts-client"
    thingspace_client_secret: str = "demo-ts-secret"
    thingspace_username: str = "amop-demo"
    thingspace_password: str = "demo-ts-password"


class SimState:
    def __init__(self, credentials: Credentials | None = None, seed: int = 0, cycle_end_day: int = 18):
        self.credentials = credentials or Credentials()
        self.faults = FaultBook(seed)
        self.devices: dict[str, SimDevice] = {}
        self.rate_plans: dict[tuple[str, str], SimRatePlan] = {}
        self.accounts = {"jasper": "ACME-IOT", "thingspace": "NORTHWIND-0001"}
        self.cycle_end_day = cycle_end_day
        self.clock_offset = timedelta(0)
        self.frozen_at: datetime | None = None
        self.operations: list[Operation] = []
        self._sequence = itertools.count(1)
        self.access_tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.sessions: dict[str, float] = {}  # session token -> last use (monotonic)
        self.session_idle_seconds = 20 * 60
        self.failed_logins = 0
        self.locked = False
        self.logins = 0
        self.callbacks: dict[str, CallbackRegistration] = {}  # ThingSpace service name -> registration
        self.requests: dict[str, dict[str, Any]] = {}  # ThingSpace request id -> outcome
        self.captured: deque[dict[str, Any]] = deque(maxlen=20_000)  # requests, for contract tests
        self._device_ids = itertools.count(1_000_001)
        self._views: dict[tuple, tuple[int, list[SimDevice]]] = {}
        self._cycle_start_cache: dict[datetime, datetime] = {}
        self.version = 0  # any device changed
        self.members = 0  # devices added, removed or given another ICCID

    # time -------------------------------------------------------------------------------
    def now(self) -> datetime:
        base = self.frozen_at if self.frozen_at is not None else datetime.now(UTC)
        return base + self.clock_offset

    def freeze(self, frozen: bool) -> datetime:
        """Stop (or restart) the clock, so that usage stands still between two reads."""
        self.frozen_at = datetime.now(UTC) if frozen else None
        self.clock_offset = timedelta(0) if frozen else self.clock_offset
        return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move the clock on: usage grows, cycles roll over, tokens and sessions age."""
        self.clock_offset += timedelta(seconds=seconds)
        self.access_tokens = {t: e - seconds for t, e in self.access_tokens.items()}
        self.sessions = {t: last - seconds for t, last in self.sessions.items()}
        return self.now()

    def _close(self, year: int, month: int) -> datetime:
        """Midnight (UTC) after the cycle end day of a month: the end day is billed whole, and a day
        past the month's length means its last day (31 is month end)."""
        day = min(self.cycle_end_day, calendar.monthrange(year, month)[1])
        return datetime(year, month, day, tzinfo=UTC) + timedelta(days=1)

    def cycle_start(self, at: datetime | None = None) -> datetime:
        """The instant the cycle running at `at` began: the day after the previous end day."""
        at = at or self.now()
        close = self._close(at.year, at.month)
        if at >= close:
            return close
        return self._close(*((at.year - 1, 12) if at.month == 1 else (at.year, at.month - 1)))

    def cycle_end(self, at: datetime | None = None) -> datetime:
        """The instant the cycle running at `at` closes: midnight after its end day."""
        at = at or self.now()
        close = self._close(at.year, at.month)
        if at < close:
            return close
        return self._close(*((at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)))

    def cycle_to_date(self, device: SimDevice, now: datetime | None = None) -> tuple[int, int]:
        """Usage since the cycle began (or since activation), growing with the clock.

        A bulk answer passes one `now`, so that all its devices are read at the same instant.
        """
        now = now or self.now()
        start = self._cycle_start_cache.get(now)
        if start is None:
            self._cycle_start_cache = {now: self.cycle_start(now)}
            start = self._cycle_start_cache[now]
        return self.usage_between(device, start, now)

    def usage_between(self, device: SimDevice, start: datetime, end: datetime) -> tuple[int, int]:
        """Bytes and SMS of a device in [start, end] (the caller keeps `end` at or before the clock):
        a device uses its daily rate while active, from its activation on."""
        since = max(start, device.date_activated or end)
        days = max(0.0, (end - since).total_seconds() / 86400)
        if device.status not in ("ACTIVATED", "active"):
            days = 0.0
        return int(device.bytes_per_day * days), int(device.sms_per_day * days)

    # devices ----------------------------------------------------------------------------
    def add(self, device: SimDevice) -> None:
        if not device.device_id:
            device.device_id = next(self._device_ids)
        self.devices[device.key] = device
        self.version += 1
        self.members += 1

    def remove(self, device: SimDevice) -> None:
        del self.devices[device.key]
        self.version += 1
        self.members += 1

    def rekey(self, device: SimDevice, new_iccid: str) -> None:
        """The device under another ICCID (a SIM swap). Its numeric id stays, so ThingSpace's
        list order does not move; a Jasper SIM the account knew is replaced by it."""
        replaced = self.devices.pop(new_iccid, None)
        del self.devices[device.key]
        device.iccid = new_iccid
        self.devices[new_iccid] = device
        self.version += 1
        if replaced is not None:
            self.members += 1

    def touch(self, device: SimDevice) -> None:
        device.date_updated = self.now()
        self.version += 1

    def cached(
        self, key: tuple, build: Callable[[], list[SimDevice]], version: int | None = None
    ) -> list[SimDevice]:
        """A view of the devices, rebuilt only after a device changed (pages reuse it); `version`
        says what changes it depends on (default: any)."""
        version = self.version if version is None else version
        found = self._views.get(key)
        if found is None or found[0] != version:
            if len(self._views) > 64:
                self._views.clear()
            found = (version, build())
            self._views[key] = found
        return found[1]

    def by_update(self, carrier: str) -> list[SimDevice]:
        """Devices of a carrier, oldest change first (Jasper search order)."""
        return self.cached(
            ("update", carrier),
            lambda: sorted(
                (d for d in self.devices.values() if d.carrier == carrier),
                key=lambda d: (d.date_updated, d.iccid),
            ),
        )

    def by_id(self, carrier: str) -> list[SimDevice]:
        """Devices of a carrier by numeric device id (ThingSpace list order)."""
        return self.cached(  # the order moves only when devices come or go
            ("id", carrier),
            lambda: sorted(
                (d for d in self.devices.values() if d.carrier == carrier), key=lambda d: d.device_id
            ),
            self.members,
        )

    def record(
        self, carrier: str, operation: str, iccid: str, details: dict[str, Any], request_id: str
    ) -> None:
        self.operations.append(
            Operation(
                next(self._sequence), carrier, operation, iccid, details, request_id, self.now().isoformat()
            )
        )

    def plan_changes_this_month(self, device: SimDevice) -> int:
        now = self.now()
        return sum(1 for at in device.plan_changes if (at.year, at.month) == (now.year, now.month))

    # ThingSpace auth ---------------------------------------------------------------------
    def issue_access_token(self, ttl: float = 3600) -> str:
        token = uuid.uuid4().hex
        self.access_tokens[token] = time.monotonic() + ttl
        return token

    def access_token_valid(self, token: str) -> bool:
        expiry = self.access_tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def issue_session(self) -> str:
        token = uuid.uuid4().hex
        self.sessions[token] = time.monotonic()
        self.logins += 1
        return token

    def session_state(self, token: str) -> str:
        """'ok', 'expired' (idle too long, or expired by the control API) or 'unknown'."""
        last = self.sessions.get(token)
        if last is None:
            return "unknown"
        if time.monotonic() - last > self.session_idle_seconds:
            return "expired"
        self.sessions[token] = time.monotonic()
        return "ok"

    def expire_sessions(self) -> int:
        count = len(self.sessions)
        self.sessions = {t: float("-inf") for t in self.sessions}
        return count
