"""Verizon ThingSpace Connectivity Management (M2M), as CARRIERS.md and Verizon's generated SDK
describe it: OAuth token plus session token, paging by Verizon's numeric device id, usage per
device or in bulk through the `DeviceUsage` callback, actions answered later on `CarrierService`.

Actions are not idempotent: one that timed out or met a 5xx is never sent again before the
device has been read (`UncertainOutcomeError` reaches the caller when the read cannot tell).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from amop_pipelines.carriers.base import CallbackInbox, CarrierKind, Target
from amop_pipelines.carriers.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentCarrierError,
    SessionExpiredError,
    UncertainOutcomeError,
)
from amop_pipelines.carriers.models import (
    CarrierDevice,
    ChangeAccepted,
    RatePlanInfo,
    UsagePeriod,
    UsageRecord,
)
from amop_pipelines.carriers.policy import CarrierHttp, Policy

log = logging.getLogger("amop.carriers.thingspace")
M2M = "/api/m2m/v1"
MAX_DEVICES_PER_REQUEST = 10_000
TOKEN_MARGIN_SECONDS = 60  # take a new token when less than this is left
USAGE_WINDOW = timedelta(days=31)  # an aggregate usage request covers at most one month
DEACTIVATE_REASON = "FF"  # the only reason code ThingSpace accepts ("General Admin/Maintenance")

# States as ThingSpace says them (lower-cased), and the actions between them.
ACTIVE, SUSPENDED, DEACTIVE, PENDING, PRE_ACTIVE = (
    "active",
    "suspend",
    "deactive",
    "pending activation",
    "pre-active",
)
_STATE_SPELLINGS = {
    "activate": ACTIVE,
    "activated": ACTIVE,
    "suspended": SUSPENDED,
    "deactivate": DEACTIVE,
    "deactivated": DEACTIVE,
    "preactive": PRE_ACTIVE,
    "pending_activation": PENDING,
    "pendingactivation": PENDING,
}
# action -> (states it applies to, resulting state); `pending activation` is on its way to active
# (minutes up to 24 hours) and is never activated again.
ACTIONS = {
    "activate": ({DEACTIVE, PRE_ACTIVE}, ACTIVE),
    "suspend": ({ACTIVE}, SUSPENDED),
    "restore": ({SUSPENDED}, ACTIVE),
    "deactivate": ({ACTIVE, SUSPENDED}, DEACTIVE),
}
# AMOP's statuses as ThingSpace says them; Pending is reached by no action.
STATUSES = {"Active": ACTIVE, "Inactive": DEACTIVE, "Suspended": SUSPENDED}
SPARE_STATES = {DEACTIVE}


def normalise_state(value: str | None) -> str:
    """ThingSpace's state in one spelling: lower case, single spaces, known variants folded."""
    state = " ".join(str(value or "").lower().split())
    return _STATE_SPELLINGS.get(state, state)


def action_between(current: str, target: str) -> str | None:
    """The action taking a device from `current` to `target`, if one does."""
    for action, (sources, result) in ACTIONS.items():
        if result == target and current in sources:
            return action
    return None


def transition_problem(current: str, amop_status: str) -> str | None:
    """Why ThingSpace would refuse to move a device from `current` to `amop_status`, or None."""
    target = STATUSES.get(amop_status)
    if target is None:
        return f"the carrier (thingspace) has no '{amop_status}' status"
    current = normalise_state(current)
    if current == target or (current == PENDING and target == ACTIVE):
        return f"the device is already {amop_status} ({current})"
    if action_between(current, target) is None:
        return f"the carrier does not move a device from {current} to {amop_status}"
    return None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids_of(entries: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {str(e.get("kind", "")).lower(): str(e.get("id", "")) for e in entries or []}


def _device(body: dict[str, Any], ids: dict[str, str]) -> CarrierDevice:
    carrier = (body.get("carrierInformations") or [{}])[0]
    return CarrierDevice(
        iccid=ids["iccid"],
        status=normalise_state(carrier.get("state")),
        rate_plan=carrier.get("servicePlan"),
        communication_plan=None,  # ThingSpace has no communication plans (CARRIERS.md)
        imei=ids.get("imei"),
        msisdn=ids.get("msisdn") or ids.get("mdn"),
        customer=None,  # nor customers: AMOP keeps those itself
        date_activated=_when(body.get("lastActivationDate")),
    )


def _device_id(body: dict[str, Any]) -> int | None:
    """Verizon's internal numeric id, the paging cursor (the `DeviceId` extended attribute)."""
    for entry in body.get("extendedAttributes") or []:
        if entry.get("key") == "DeviceId" and str(entry.get("value", "")).isdigit():
            return int(entry["value"])
    return None


def parse_usage_callback(body: dict[str, Any]) -> UsageRecord | None:
    """The one reader of a `DeviceUsage` callback (stored raw beside it): the device's bytes and
    SMS in the requested window, or None for a callback that carries no figures. The field names
    are unverified (CARRIERS.md), so the known spellings are all read here and nowhere else."""
    if str(body.get("status", "")).lower() not in ("success", ""):
        return None
    iccid = _ids_of(body.get("deviceIds") or []).get("iccid")
    response = (body.get("deviceResponse") or {}).get("usageResponse")
    if not iccid or response is None:
        return None
    rows = response if isinstance(response, list) else [response]
    data = sum(int(r.get("dataUsage", r.get("bytesUsed", 0)) or 0) for r in rows)
    sms = sum(int(r.get("smsUsage", r.get("smsUsed", 0)) or 0) for r in rows)
    return UsageRecord(iccid, data, sms)


@dataclass(frozen=True)
class ThingSpaceSettings:
    """Per-account settings of ThingSpace calls that no source settles (CARRIERS.md)."""

    mdn_zip_code: str = ""  # where activated lines are used; required to activate
    service_type: str = ""  # the `{serviceType}` of the identifier change; required for it
    usage_wait_seconds: float = 600.0  # how long DeviceUsage callbacks are awaited before per-device reads


class ThingSpaceClient:
    """One ThingSpace billing account. Logs in lazily, renews the token before it runs out, and
    authenticates once more on an expired session or any 401."""

    integration = "thingspace"

    def __init__(
        self,
        base_url: str,
        account_name: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        policy: Policy | None = None,
        settings: ThingSpaceSettings | None = None,
        inbox: CallbackInbox | None = None,
    ):
        self.http = CarrierHttp(
            base_url.rstrip("/"), policy or Policy(requests_per_second=10, max_in_flight=4)
        )
        self.account = account_name
        self.settings = settings or ThingSpaceSettings()
        self.inbox = inbox
        self._client_id, self._client_secret = client_id, client_secret
        self._username, self._password = username, password
        self._access_token: str | None = None
        self._token_until = 0.0
        self._session: str | None = None
        self._lock = threading.Lock()
        self.logins = 0
        self.pages_read = 0
        self.skipped: list[str] = []  # devices the last listing could not take (no ICCID)

    def close(self) -> None:
        self.http.close()

    # auth -------------------------------------------------------------------------------
    def _authenticate(self, force: bool = False) -> None:
        with self._lock:
            token_fresh = self._access_token and time.monotonic() < self._token_until - TOKEN_MARGIN_SECONDS
            if self._session and token_fresh and not force:
                return
            if force or not token_fresh:
                token = self.http.request(
                    "POST",
                    "/api/ts/v1/oauth2/token",
                    auth=(self._client_id, self._client_secret),
                    data={"grant_type": "client_credentials"},
                )
                self._access_token = token["access_token"]
                self._token_until = time.monotonic() + float(token.get("expires_in") or 3600)
            if force or not self._session:
                session = self.http.request(
                    "POST",
                    f"{M2M}/session/login",
                    json={"username": self._username, "password": self._password},
                    headers=lambda: {"Authorization": f"Bearer {self._access_token}"},
                )
                self._session = session["sessionToken"]
                self.logins += 1
                log.info("logged in to ThingSpace account %s", self.account)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}", "VZ-M2M-Token": self._session or ""}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        self._authenticate()
        try:
            return self.http.request(method, f"{M2M}{path}", headers=self._headers, **kwargs)
        except (SessionExpiredError, AuthenticationError) as error:
            log.info(
                "ThingSpace %s; authenticating again",
                "session expired" if isinstance(error, SessionExpiredError) else "answered 401",
            )
            self._authenticate(force=True)
            return self.http.request(method, f"{M2M}{path}", headers=self._headers, **kwargs)

    # devices ----------------------------------------------------------------------------
    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        """Every device of the account, 2,000 a page, by Verizon's numeric device id. ThingSpace
        lists no modification time, so every sync reads the whole account. A device without an
        ICCID (3G, MDN only) is reported in `skipped` and passed over."""
        cursor, self.skipped = 0, []
        while True:
            body = self._call(
                "POST",
                "/devices/actions/list",
                json={"accountName": self.account, "largestDeviceIdSeen": cursor},
            )
            self.pages_read += 1
            entries = body.get("devices") or []
            for entry in entries:
                ids = _ids_of(entry.get("deviceIds") or [])
                if not ids.get("iccid"):
                    named = ", ".join(f"{k} {v}" for k, v in sorted(ids.items())) or "no identifiers"
                    self.skipped.append(f"DeviceId {_device_id(entry)} ({named}): no ICCID")
                    log.warning("ThingSpace device without an ICCID skipped: %s", self.skipped[-1])
                    continue
                yield _device(entry, ids)
            last = _device_id(entries[-1]) if entries else None
            if not body.get("hasMoreData") or last is None:
                return
            cursor = last

    def device(self, iccid: str) -> CarrierDevice:
        try:
            body = self._call(
                "POST",
                "/devices/actions/list",
                json={"accountName": self.account, "deviceId": {"id": iccid, "kind": "iccid"}},
            )
        except NotFoundError as error:
            raise NotFoundError(f"ThingSpace has no device {iccid}", error.status, error.code) from error
        for entry in body.get("devices") or []:
            ids = _ids_of(entry.get("deviceIds") or [])
            if ids.get("iccid") == iccid:
                return _device(entry, ids)
        raise NotFoundError(f"ThingSpace has no device {iccid}")

    # usage ------------------------------------------------------------------------------
    def device_usage(self, iccid: str, start: datetime, end: datetime) -> UsageRecord:
        """One device's usage in [start, end], answered at once (summed over its daily rows)."""
        body = self._call(
            "POST",
            "/devices/usage/actions/list",
            json={
                "deviceId": {"id": iccid, "kind": "iccid"},
                "earliest": _stamp(start),
                "latest": _stamp(end),
            },
        )
        rows = body.get("usageHistory") or []
        return UsageRecord(
            iccid,
            sum(int(r.get("bytesUsed") or 0) for r in rows),
            sum(int(r.get("smsUsed") or 0) for r in rows),
        )

    def registered_callbacks(self) -> dict[str, str]:
        """Callback service name -> URL, as the account has them registered."""
        return {
            c.get("serviceName") or c.get("name"): c.get("url", "")
            for c in self._call("GET", f"/callbacks/{self.account}") or []
        }

    def iter_usage(
        self, devices: Iterable[CarrierDevice], period: UsagePeriod | None = None
    ) -> Iterator[UsageRecord]:
        """Usage in the period's window (default: the last month): in bulk when the account has a
        `DeviceUsage` callback and an inbox to read it from, 10,000 devices a request; each device
        whose figures did not come in time (and every device without a callback) is read alone."""
        end = period.end if period is not None else datetime.now(UTC)
        start = max(period.start if period is not None else end - USAGE_WINDOW, end - USAGE_WINDOW)
        wanted = {d.iccid: d for d in devices}
        if self.inbox is not None and "DeviceUsage" in self.registered_callbacks():
            yield from self._usage_by_callback(wanted, start, end)
        elif wanted:
            log.warning(
                "ThingSpace account %s: no DeviceUsage callback (or no inbox); reading %d devices alone",
                self.account,
                len(wanted),
            )
        for iccid in sorted(wanted):
            yield self.device_usage(iccid, start, end)

    def _usage_by_callback(
        self, wanted: dict[str, CarrierDevice], start: datetime, end: datetime
    ) -> Iterator[UsageRecord]:
        assert self.inbox is not None
        iccids, request_ids = sorted(wanted), []
        for first in range(0, len(iccids), MAX_DEVICES_PER_REQUEST):
            batch = iccids[first : first + MAX_DEVICES_PER_REQUEST]
            accepted = self._call(
                "POST",
                "/devices/usage/actions/list/aggregate",
                json={
                    "accountName": self.account,
                    "deviceIds": [{"id": i, "kind": "iccid"} for i in batch],
                    "startTime": _stamp(start),
                    "endTime": _stamp(end),
                },
            )
            request_ids.append(str(accepted["requestId"]))
        deadline = time.monotonic() + self.settings.usage_wait_seconds
        for body in self.inbox.collect(request_ids, deadline, expected=len(wanted)):
            record = parse_usage_callback(body)
            if record is not None and wanted.pop(record.iccid, None) is not None:
                yield record
                if not wanted:
                    return
        if wanted:
            log.warning(
                "%d devices had no DeviceUsage callback in %.0f s: reading them one by one",
                len(wanted),
                self.settings.usage_wait_seconds,
            )

    def rate_plans(self) -> list[RatePlanInfo]:
        """The account's plans by code; the allowance from `sizeKb`. No prices (CARRIERS.md)."""
        return [
            RatePlanInfo(
                p["code"],
                p.get("name") or p["code"],
                (Decimal(int(p["sizeKb"])) / 1024) if p.get("sizeKb") is not None else None,
            )
            for p in self._call("GET", f"/plans/{self.account}")
        ]

    def request_status(self, request_id: str) -> str:
        """Pending, Success or Failure of an asynchronous request."""
        body = self._call("GET", f"/accounts/{self.account}/requests/{request_id}/status")
        return str(body.get("status", ""))

    # changes: each answers a request id at once, the outcome comes by callback ----------
    def _devices(self, iccid: str) -> list[dict[str, Any]]:
        return [{"deviceIds": [{"id": iccid, "kind": "iccid"}]}]

    def _act(self, iccid: str, method: str, path: str, body: dict[str, Any], applied) -> ChangeAccepted:
        """Send an action once. After a timeout or 5xx, read the device: if `applied(device)` the
        carrier took it (its callback may still come), else the outcome stays uncertain."""
        try:
            answer = self._call(method, path, json=body, idempotent=False)
        except UncertainOutcomeError:
            if applied(self.device(iccid)):
                log.info("ThingSpace applied %s %s for %s though the answer was lost", method, path, iccid)
                return ChangeAccepted(iccid, None, asynchronous=False)
            raise
        return ChangeAccepted(iccid, answer["requestId"], asynchronous=True)

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        return self._act(
            iccid,
            "PUT",
            "/devices/actions/plan",
            {"accountName": self.account, "devices": self._devices(iccid), "servicePlan": rate_plan},
            lambda d: d.rate_plan == rate_plan,
        )

    def set_status(self, iccid: str, amop_status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """Move a device to one of AMOP's statuses by the action that gets it there."""
        target = STATUSES.get(amop_status)
        if target is None:
            raise PermanentCarrierError(f"ThingSpace has no '{amop_status}' status")
        device = self.device(iccid)
        action = action_between(device.status, target)
        if action is None:
            raise PermanentCarrierError(
                f"no ThingSpace action moves {iccid} from {device.status} to {target}"
            )
        return self.act(iccid, action, device.rate_plan)

    def act(self, iccid: str, action: str, service_plan: str | None = None) -> ChangeAccepted:
        """activate, suspend, restore or deactivate, with what each requires."""
        if action not in ACTIONS:
            raise PermanentCarrierError(f"'{action}' is not a ThingSpace device action")
        body: dict[str, Any] = {"accountName": self.account, "devices": self._devices(iccid)}
        if action == "activate":
            if not self.settings.mdn_zip_code:
                raise PermanentCarrierError(
                    f"set the ThingSpace account {self.account}'s mdn_zip_code to activate devices"
                )
            if not service_plan:
                raise PermanentCarrierError(f"activating {iccid} needs a service plan")
            body |= {"servicePlan": service_plan, "mdnZipCode": self.settings.mdn_zip_code}
        if action == "deactivate":
            body["reasonCode"] = DEACTIVATE_REASON
        target = ACTIONS[action][1]
        return self._act(
            iccid,
            "POST",
            f"/devices/actions/{action}",
            body,
            lambda d: d.status == target or (target == ACTIVE and d.status == PENDING),
        )

    def change_status(self, iccid: str, status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """`status` is a ThingSpace action: activate, suspend, restore or deactivate."""
        return self.act(iccid, status, self.device(iccid).rate_plan if status == "activate" else None)

    def delete_device(self, iccid: str) -> None:
        """Remove a deactivated device from the account (a spare SIM before it becomes another
        device's new SIM: ThingSpace changes identifiers only to ones it does not know)."""
        answers = self._call(
            "POST",
            "/devices/actions/delete",
            json={"accountName": self.account, "devicesToDelete": self._devices(iccid)},
        )
        for answer in answers or []:
            if str(answer.get("status", "")).lower() != "success":
                raise PermanentCarrierError(f"ThingSpace did not delete {iccid}: {answer.get('message', '')}")

    def change_identifiers(
        self,
        iccid: str,
        new_iccid: str | None = None,
        new_imei: str | None = None,
        service_plan: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChangeAccepted:
        """ICCID and/or IMEI of an active device, with a plan change in the same request."""
        if not new_iccid and not new_imei:
            raise PermanentCarrierError("a new ICCID or a new IMEI is needed")
        if not self.settings.service_type:
            raise PermanentCarrierError(
                f"set the ThingSpace account {self.account}'s service_type to change identifiers"
            )
        option = (
            "ChangeIMEIandICCID" if new_iccid and new_imei else ("ChangeICCID" if new_iccid else "ChangeIMEI")
        )
        to = [{"id": new_iccid, "kind": "iccid"}] if new_iccid else []
        to += [{"id": new_imei, "kind": "imei"}] if new_imei else []
        body: dict[str, Any] = {
            "deviceIds": [{"id": iccid, "kind": "iccid"}],
            "deviceIdsTo": to,
            "change4gOption": option,
        }
        if service_plan:
            body["servicePlan"] = service_plan

        def applied(device: CarrierDevice) -> bool:
            return (not new_imei or device.imei == new_imei) and (not new_iccid or device.iccid == new_iccid)

        path = f"/devices/{self.settings.service_type}/actions/deviceId"
        try:
            answer = self._call("PUT", path, json=body, idempotent=False)
        except UncertainOutcomeError:
            try:  # after a swap the device answers to its new SIM only
                now = self.device(new_iccid or iccid)
            except NotFoundError:
                raise UncertainOutcomeError(
                    f"the identifier change of {iccid} may not have been applied"
                ) from None
            if applied(now):
                log.info("ThingSpace changed the identifiers of %s though the answer was lost", iccid)
                return ChangeAccepted(iccid, None, asynchronous=False)
            raise
        return ChangeAccepted(iccid, answer["requestId"], asynchronous=True)

    def change_customer(
        self, iccid: str, customer: str, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        raise PermanentCarrierError("ThingSpace keeps no customers: AMOP records them itself")

    # callbacks --------------------------------------------------------------------------
    def register_callback(
        self, url: str, service: str = "CarrierService", username: str = "", password: str = ""
    ) -> None:
        body = {"name": service, "url": url}
        if username or password:
            body |= {"username": username, "password": password}
        self._call("POST", f"/callbacks/{self.account}", json=body)

    def register_callbacks(self, url: str, username: str = "", password: str = "") -> list[str]:
        """Action outcomes (CarrierService) and bulk usage (DeviceUsage) to AMOP's receiver;
        Verizon echoes the username and password in every callback body."""
        for service in CALLBACK_SERVICES:
            self.register_callback(url, service, username, password)
        return list(CALLBACK_SERVICES)

    def deregister_callback(self, service: str) -> None:
        self._call("DELETE", f"/callbacks/{self.account}/name/{service}")


CALLBACK_SERVICES = ("CarrierService", "DeviceUsage")


def _build(target: Target) -> ThingSpaceClient:
    known = {f for f in ThingSpaceSettings.__dataclass_fields__}
    settings = ThingSpaceSettings(**{k: v for k, v in target.settings.items() if k in known})
    return ThingSpaceClient(
        target.base_url,
        target.account_name,
        target.credentials["client_id"],
        target.credentials["client_secret"],
        target.credentials["username"],
        target.credentials["password"],
        target.policy,
        settings,
        target.inbox,
    )


KIND = CarrierKind(
    integration="thingspace",
    title="Verizon ThingSpace Connectivity Management",
    credentials=("client_id", "client_secret", "username", "password"),
    build=_build,
    statuses=STATUSES,
    transition_problem=transition_problem,
    spare_states=frozenset(SPARE_STATES),
    waiting_states={PENDING: "Active"},
    max_in_flight=4,
    settings=tuple(ThingSpaceSettings.__dataclass_fields__),
    has_communication_plans=False,
    changes_identifiers=True,
    plan_changes_per_month=4,  # CARRIERS.md: at most 4 plan changes a month for a device
    # bulk usage windows start at most six months back: the fifth period before the current one
    # is the oldest that always starts within them
    closed_periods_held=5,
)
