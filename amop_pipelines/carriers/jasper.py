"""Cisco Jasper / Control Center REST client (base path /rws/api/v1)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

import httpx

from amop_pipelines.carriers.base import CarrierKind, Target
from amop_pipelines.carriers.errors import PermanentCarrierError, TransientCarrierError, UncertainOutcomeError
from amop_pipelines.carriers.models import (
    CarrierDevice,
    ChangeAccepted,
    RatePlanInfo,
    UsagePeriod,
    UsageRecord,
)
from amop_pipelines.carriers.policy import CarrierHttp, Policy

log = logging.getLogger("amop.carriers.jasper")
PAGE_SIZE = 50
FULL_SYNC_SINCE = datetime(2000, 1, 1, tzinfo=UTC)


# Jasper's statuses and the changes between them (from -> to). Tenants configure their own
# transitions (unverified, CARRIERS.md); this is the default table.
TRANSITIONS = {
    "INVENTORY": {"TEST_READY", "ACTIVATION_READY", "ACTIVATED", "RETIRED"},
    "TEST_READY": {"ACTIVATION_READY", "ACTIVATED", "INVENTORY", "RETIRED"},
    "ACTIVATION_READY": {"ACTIVATED", "DEACTIVATED", "RETIRED"},
    "ACTIVATED": {"DEACTIVATED", "RETIRED"},
    "DEACTIVATED": {"ACTIVATED", "RETIRED"},
    "RETIRED": {"PURGED"},
    "PURGED": set(),
    "REPLACED": set(),
}
# AMOP's statuses as Jasper says them; Jasper has no suspension.
STATUSES = {"Active": "ACTIVATED", "Inactive": "DEACTIVATED", "Pending": "ACTIVATION_READY"}


def transition_problem(current: str, amop_status: str) -> str | None:
    """Why Jasper would refuse to move a device from `current` to `amop_status`, or None."""
    target = STATUSES.get(amop_status)
    if target is None:
        return f"the carrier (jasper) has no '{amop_status}' status"
    if current == target:
        return f"the device is already {amop_status} ({current})"
    if target not in TRANSITIONS.get(current, set()):
        return f"the carrier does not move a device from {current} to {amop_status}"
    return None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z").astimezone(UTC)


def _device(body: dict) -> CarrierDevice:
    return CarrierDevice(
        iccid=body["iccid"],
        status=body.get("status", ""),
        rate_plan=body.get("ratePlan"),
        communication_plan=body.get("communicationPlan"),
        imei=body.get("imei"),
        msisdn=body.get("msisdn"),
        imsi=body.get("imsi"),
        customer=body.get("customer"),
        date_activated=_when(body.get("dateActivated")),
        date_updated=_when(body.get("dateUpdated")),
    )


def _usage(body: dict) -> UsageRecord:
    return UsageRecord(body["iccid"], int(body.get("ctdDataUsage") or 0), int(body.get("ctdSMSUsage") or 0))


_BYTES = {"bytes": 1, "b": 1, "kb": 1024, "mb": 1024 * 1024}


def _usage_in_zones(iccid: str, body: dict) -> UsageRecord:
    """A device's cycle from Get Device Usage by Zone: rows per rate plan and zone, each with its
    data unit; SMS as mobile-originated plus mobile-terminated."""
    data = sms = 0
    for rows in (body.get("deviceCycleUsageInZones") or {}).values():
        for row in rows or []:
            unit = str(row.get("dataUsageUnit") or "bytes").lower()
            if unit not in _BYTES:
                raise PermanentCarrierError(f"usage of {iccid} in a unit AMOP does not know: {unit!r}")
            data += int(row.get("dataUsage") or 0) * _BYTES[unit]
            sms += int(row.get("smsmousage") or 0) + int(row.get("smsmtusage") or 0)
    return UsageRecord(iccid, data, sms)


class JasperClient:
    """Basic auth with the API key; one call in flight and the account's rate (5/s by default)."""

    integration = "jasper"

    def __init__(self, base_url: str, username: str, api_key: str, policy: Policy | None = None):
        self.http = CarrierHttp(
            base_url.rstrip("/"), policy or Policy(), auth=httpx.BasicAuth(username, api_key)
        )
        self.pages_read = 0

    def close(self) -> None:
        self.http.close()

    def _page_bodies(self, path: str, params: dict, first: int = 1) -> Iterator[dict]:
        number = first
        while True:
            body = self.http.request(
                "GET", path, params={**params, "pageSize": PAGE_SIZE, "pageNumber": number}
            )
            self.pages_read += 1
            yield body
            if body.get("lastPage", True):
                return
            number += 1

    def _pages(self, path: str, params: dict, items: str) -> Iterator[dict]:
        for body in self._page_bodies(path, params):
            yield from body.get(items, [])

    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        for _, devices, _ in self.iter_device_pages(modified_since):
            yield from devices

    def iter_device_pages(
        self, modified_since: datetime | None = None, first_page: int = 1
    ) -> Iterator[tuple[int, list[CarrierDevice], bool]]:
        """(page number, its devices, whether it is the last) from `first_page` on: a sync that
        records the pages it finished can continue from the next one."""
        since = (modified_since or FULL_SYNC_SINCE).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        number = first_page
        for body in self._page_bodies("/devices", {"modifiedSince": since}, first_page):
            yield (
                number,
                [_device(item) for item in body.get("devices", [])],
                bool(body.get("lastPage", True)),
            )
            number += 1

    def device(self, iccid: str) -> CarrierDevice:
        return _device(self.http.request("GET", f"/devices/{iccid}"))

    def device_usage(self, iccid: str, cycle_start: date | None = None) -> UsageRecord:
        """One device's usage: cycle to date, or in the closed cycle that began on `cycle_start`
        (Get Device Usage by Zone: every plan and zone the device used then, summed)."""
        if cycle_start is None:
            return _usage({"iccid": iccid, **self.http.request("GET", f"/devices/{iccid}/ctdUsages")})
        body = self.http.request(
            "GET", f"/devices/{iccid}/usageInZone", params={"cycleStartDate": f"{cycle_start:%Y-%m-%d}Z"}
        )
        return _usage_in_zones(iccid, body)

    def iter_usage(
        self, devices: Iterable[CarrierDevice], period: UsagePeriod | None = None
    ) -> Iterator[UsageRecord]:
        """Usage by rate plan, 50 devices a page, each device summed over the zones it used: cycle
        to date, or a closed cycle's by its first day (`cycleStartDate`). Any 4xx on a plan (shared
        plans are refused, with a code no source settles) reads that plan's devices one by one;
        the other plans stay in bulk."""
        cycle_start = period.cycle_start if period is not None and period.closed else None
        by_plan: dict[str, list[str]] = defaultdict(list)
        for device in devices:
            by_plan[device.rate_plan or ""].append(device.iccid)
        for plan, iccids in by_plan.items():
            wanted = set(iccids)
            try:
                if plan:
                    yield from self._plan_usage(plan, wanted, cycle_start)
            except PermanentCarrierError as error:
                log.info(
                    "usage by rate plan %s refused (%s): reading %d devices one by one",
                    plan,
                    error,
                    len(wanted),
                )
            for iccid in sorted(wanted):  # refused plans, and devices on another plan then
                yield self.device_usage(iccid, cycle_start)

    def _plan_usage(self, plan: str, wanted: set[str], cycle_start: date | None) -> Iterator[UsageRecord]:
        params = {"ratePlanName": plan}
        if cycle_start is not None:
            params["cycleStartDate"] = f"{cycle_start:%Y-%m-%d}"
        for body in self._page_bodies("/usages", params):
            totals: dict[str, list[int]] = {}
            for zone in body.get("zones") or []:
                for entry in zone.get("devices") or []:
                    usage = entry.get("usage") or {}
                    sums = totals.setdefault(str(entry["deviceId"]), [0, 0])
                    sums[0] += int(usage.get("dataUsage") or 0)
                    sums[1] += int(usage.get("smsUsage") or 0)
            for iccid, (data, sms) in totals.items():
                if iccid in wanted:
                    wanted.discard(iccid)
                    yield UsageRecord(iccid, data, sms)

    def rate_plans(self) -> list[RatePlanInfo]:
        """Every rate plan, 50 a page (the API user needs the AccountAdmin role). The fields beyond
        the name depend on the plan type and carry no usable price (CARRIERS.md)."""
        return [RatePlanInfo(p["name"], p["name"]) for p in self._pages("/rateplans", {}, "ratePlans")]

    def _edit(self, iccid: str, body: dict, idempotency_key: str | None) -> ChangeAccepted:
        """Edit the device, then read it back: on some tenants a 200 did not mean applied
        (CARRIERS.md), so an edit the device does not show yet is a transient failure. An edit
        with an effective date is scheduled, not applied, and is not read back."""
        headers = {"X-Request-ID": idempotency_key} if idempotency_key else {}
        self.http.request("PUT", f"/devices/{iccid}", json=body, headers=lambda: headers)
        if "effectiveDate" not in body:
            try:
                shown = self.device(iccid)
            except TransientCarrierError as error:
                raise UncertainOutcomeError(
                    f"PUT /devices/{iccid} answered; its read-back failed: {error}"
                ) from error
            fields = {"ratePlan": shown.rate_plan, "status": shown.status, "customer": shown.customer}
            missing = [k for k, v in body.items() if k in fields and fields[k] != v]
            if missing:
                raise UncertainOutcomeError(
                    f"PUT /devices/{iccid} answered but the device does not show {', '.join(missing)} yet"
                )
        return ChangeAccepted(iccid, idempotency_key, asynchronous=False)

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        body: dict = {"ratePlan": rate_plan}
        if effective is not None:
            body["effectiveDate"] = effective.isoformat()
        return self._edit(iccid, body, idempotency_key)

    def set_status(self, iccid: str, amop_status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        target = STATUSES.get(amop_status)
        if target is None:
            raise PermanentCarrierError(f"Jasper has no '{amop_status}' status")
        return self._edit(iccid, {"status": target}, idempotency_key)

    def change_status(self, iccid: str, status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """`status` in Jasper's own words (ACTIVATED, DEACTIVATED, ...)."""
        return self._edit(iccid, {"status": status}, idempotency_key)

    def change_customer(
        self, iccid: str, customer: str, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        return self._edit(iccid, {"customer": customer}, idempotency_key)

    def change_identifiers(
        self,
        iccid: str,
        new_iccid: str | None = None,
        new_imei: str | None = None,
        service_plan: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChangeAccepted:
        raise PermanentCarrierError("the Jasper REST API has no identifier change; use the carrier's portal")

    def register_callbacks(self, url: str, username: str = "", password: str = "") -> list[str]:
        """Jasper pushes nothing to AMOP: its changes answer synchronously."""
        return []


def _build(target: Target) -> JasperClient:
    return JasperClient(
        target.base_url, target.credentials["username"], target.credentials["api_key"], target.policy
    )


KIND = CarrierKind(
    integration="jasper",
    title="Cisco Jasper / IoT Control Center",
    credentials=("username", "api_key"),
    build=_build,
    statuses=STATUSES,
    transition_problem=transition_problem,
    spare_states=frozenset({"DEACTIVATED", "INVENTORY"}),
    max_in_flight=1,
    settings=("max_pages_per_run",),  # the seeds' MaxPagesToProcess: a large account's sync over several runs
    keeps_customers=True,
    api_path="/rws/api/v1",
    closed_periods_held=2,  # usage by zone answers the current cycle and the two before it
)
