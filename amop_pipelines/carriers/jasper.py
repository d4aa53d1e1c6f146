"""Cisco Jasper / Control Center REST client (base path /rws/api/v1)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

import httpx

from amop_pipelines.carriers.errors import PermanentCarrierError
from amop_pipelines.carriers.models import CarrierDevice, ChangeAccepted, RatePlanInfo, UsageRecord
from amop_pipelines.carriers.policy import CarrierHttp, Policy

log = logging.getLogger("amop.carriers.jasper")
PAGE_SIZE = 50
FULL_SYNC_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
USAGE_BY_PLAN_REFUSED = "10000030"  # refused for some shared plans: fall back to each device


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


class JasperClient:
    """Basic auth with the API key; one call in flight and the account's rate (5/s by default)."""

    def __init__(self, base_url: str, username: str, api_key: str, policy: Policy | None = None):
        self.http = CarrierHttp(
            base_url.rstrip("/"), policy or Policy(), auth=httpx.BasicAuth(username, api_key)
        )
        self.pages_read = 0

    def close(self) -> None:
        self.http.close()

    def _pages(self, path: str, params: dict, items: str) -> Iterator[dict]:
        number = 1
        while True:
            body = self.http.request(
                "GET", path, params={**params, "pageSize": PAGE_SIZE, "pageNumber": number}
            )
            self.pages_read += 1
            yield from body.get(items, [])
            if body.get("lastPage", True):
                return
            number += 1

    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        since = (modified_since or FULL_SYNC_SINCE).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for body in self._pages("/devices", {"modifiedSince": since}, "devices"):
            yield _device(body)

    def device(self, iccid: str) -> CarrierDevice:
        return _device(self.http.request("GET", f"/devices/{iccid}"))

    def device_usage(self, iccid: str) -> UsageRecord:
        return _usage({"iccid": iccid, **self.http.request("GET", f"/devices/{iccid}/ctdUsages")})

    def iter_usage(self, devices: Iterable[CarrierDevice]) -> Iterator[UsageRecord]:
        """Usage by rate plan, a page of 50 devices a call; per device where the plan is refused."""
        by_plan: dict[str, list[str]] = defaultdict(list)
        for device in devices:
            by_plan[device.rate_plan or ""].append(device.iccid)
        for plan, iccids in by_plan.items():
            wanted = set(iccids)
            try:
                if not plan:
                    raise PermanentCarrierError("no rate plan", code=USAGE_BY_PLAN_REFUSED)
                for body in self._pages("/usages", {"ratePlanName": plan}, "usages"):
                    if body["iccid"] in wanted:
                        wanted.discard(body["iccid"])
                        yield _usage(body)
            except PermanentCarrierError as error:
                if error.code != USAGE_BY_PLAN_REFUSED:
                    raise
                log.info(
                    "usage by rate plan refused for %s: reading %d devices one by one", plan, len(wanted)
                )
            for iccid in sorted(wanted):  # refused plans, and devices that changed plan meanwhile
                yield self.device_usage(iccid)

    def rate_plans(self) -> list[RatePlanInfo]:
        body = self.http.request("GET", "/rateplans")
        return [
            RatePlanInfo.parse(
                p["name"],
                p.get("monthlyCharge"),
                p.get("includedData"),
                p.get("overageRate"),
                p.get("overageUnit"),
                p.get("pooled"),
            )
            for p in body.get("ratePlans", [])
        ]

    def _edit(self, iccid: str, body: dict, idempotency_key: str | None) -> ChangeAccepted:
        headers = {"X-Request-ID": idempotency_key} if idempotency_key else {}
        self.http.request("PUT", f"/devices/{iccid}", json=body, headers=lambda: headers)
        return ChangeAccepted(iccid, idempotency_key, asynchronous=False)

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        body: dict = {"ratePlan": rate_plan}
        if effective is not None:
            body["effectiveDate"] = effective.isoformat()
        return self._edit(iccid, body, idempotency_key)

    def change_status(self, iccid: str, status: str, idempotency_key: str | None = None) -> ChangeAccepted:
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

    def register_callback(self, url: str) -> None:
        """Jasper pushes nothing to AMOP: its changes answer synchronously."""
