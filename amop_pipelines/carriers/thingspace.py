"""Verizon ThingSpace M2M client: OAuth token plus session token, cursor paging, async changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from amop_pipelines.carriers.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentCarrierError,
    SessionExpiredError,
)
from amop_pipelines.carriers.models import CarrierDevice, ChangeAccepted, RatePlanInfo, UsageRecord
from amop_pipelines.carriers.policy import CarrierHttp, Policy

log = logging.getLogger("amop.carriers.thingspace")
M2M = "/api/m2m/v1"
PAGE_SIZE = 2000
MAX_DEVICES_PER_REQUEST = 10_000
USAGE_POLL_SECONDS = 0.2
USAGE_POLL_LIMIT = 150


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _device(body: dict[str, Any]) -> CarrierDevice:
    ids = {entry["kind"].lower(): entry["id"] for entry in body.get("deviceIds", [])}
    carrier = (body.get("carrierInformations") or [{}])[0]
    extra = {entry["key"]: entry["value"] for entry in body.get("extendedAttributes", [])}
    return CarrierDevice(
        iccid=ids["iccid"],
        status=carrier.get("state", ""),
        rate_plan=carrier.get("servicePlan"),
        communication_plan=extra.get("CommunicationPlan") or None,
        imei=ids.get("imei"),
        msisdn=ids.get("msisdn"),
        customer=extra.get("Customer") or None,
        date_activated=_when(body.get("lastActivationDate")),
    )


class ThingSpaceClient:
    """Logs in lazily; on an expired session logs in once again and repeats the call."""

    def __init__(
        self,
        base_url: str,
        account_name: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        policy: Policy | None = None,
    ):
        self.http = CarrierHttp(
            base_url.rstrip("/"), policy or Policy(requests_per_second=10, max_in_flight=4)
        )
        self.account = account_name
        self._client_id, self._client_secret = client_id, client_secret
        self._username, self._password = username, password
        self._access_token: str | None = None
        self._session: str | None = None
        self._lock = threading.Lock()
        self.logins = 0
        self.pages_read = 0

    def close(self) -> None:
        self.http.close()

    # auth -------------------------------------------------------------------------------
    def _authenticate(self, force: bool = False) -> None:
        with self._lock:
            if self._session and not force:
                return
            token = self.http.request(
                "POST",
                "/api/ts/v1/oauth2/token",
                auth=(self._client_id, self._client_secret),
                data={"grant_type": "client_credentials"},
            )
            self._access_token = token["access_token"]
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
            if isinstance(error, AuthenticationError) and error.code != "invalid_token":
                raise
            log.info(
                "ThingSpace %s; logging in again",
                "session expired" if isinstance(error, SessionExpiredError) else "token expired",
            )
            self._authenticate(force=True)
            return self.http.request(method, f"{M2M}{path}", headers=self._headers, **kwargs)

    # devices ----------------------------------------------------------------------------
    def iter_devices(self, modified_since: datetime | None = None) -> Iterator[CarrierDevice]:
        """Every device of the account, 2,000 a page, by the largest device id seen."""
        cursor = ""
        while True:
            body = self._call(
                "POST",
                "/devices/actions/list",
                json={
                    "accountName": self.account,
                    "largestDeviceIdSeen": cursor,
                    "maxNumberOfDevices": PAGE_SIZE,
                },
            )
            self.pages_read += 1
            devices = [_device(d) for d in body.get("devices", [])]
            yield from devices
            if not body.get("hasMoreData") or not devices:
                return
            cursor = devices[-1].iccid

    def device(self, iccid: str) -> CarrierDevice:
        body = self._call(
            "POST",
            "/devices/actions/list",
            json={
                "accountName": self.account,
                "largestDeviceIdSeen": _before(iccid),
                "maxNumberOfDevices": 1,
            },
        )
        devices = [_device(d) for d in body.get("devices", [])]
        if not devices or devices[0].iccid != iccid:
            raise NotFoundError(f"ThingSpace has no device {iccid}")
        return devices[0]

    def iter_usage(self, devices: Iterable[CarrierDevice]) -> Iterator[UsageRecord]:
        """Aggregate usage, 10,000 devices a request; each answered with a request id to fetch."""
        iccids = [d.iccid for d in devices]
        for start in range(0, len(iccids), MAX_DEVICES_PER_REQUEST):
            batch = iccids[start : start + MAX_DEVICES_PER_REQUEST]
            accepted = self._call(
                "POST",
                "/devices/usage/actions/list/aggregate",
                json={
                    "accountName": self.account,
                    "deviceIds": [{"id": i, "kind": "iccid"} for i in batch],
                    "startTime": None,
                    "endTime": None,
                },
            )
            result = self._await_request(accepted["requestId"])
            for row in result.get("usage", []):
                yield UsageRecord(
                    row["deviceId"]["id"], int(row.get("dataUsage") or 0), int(row.get("smsUsage") or 0)
                )

    def _await_request(self, request_id: str) -> dict[str, Any]:
        for _ in range(USAGE_POLL_LIMIT):
            body = self._call("GET", f"/requests/{request_id}")
            if body.get("status") != "Pending":
                return body
            time.sleep(USAGE_POLL_SECONDS)
        raise PermanentCarrierError(f"ThingSpace request {request_id} still pending")

    def rate_plans(self) -> list[RatePlanInfo]:
        return [
            RatePlanInfo.parse(
                p["name"],
                p.get("monthlyCharge"),
                p.get("includedMb"),
                p.get("overageRate"),
                p.get("overageUnitMb"),
                p.get("pooled"),
            )
            for p in self._call("GET", f"/plans/{self.account}")
        ]

    # changes: each answers a request id at once, the outcome comes by callback ----------
    def _devices(self, iccid: str) -> list[dict[str, Any]]:
        return [{"deviceIds": [{"id": iccid, "kind": "iccid"}]}]

    def change_rate_plan(
        self, iccid: str, rate_plan: str, effective: date | None = None, idempotency_key: str | None = None
    ) -> ChangeAccepted:
        body = self._call(
            "PUT",
            "/devices/actions/plan",
            json={"accountName": self.account, "servicePlan": rate_plan, "devices": self._devices(iccid)},
        )
        return ChangeAccepted(iccid, body["requestId"], asynchronous=True)

    def change_status(self, iccid: str, status: str, idempotency_key: str | None = None) -> ChangeAccepted:
        """`status` is a ThingSpace action: activate, suspend, restore or deactivate."""
        if status not in ("activate", "suspend", "restore", "deactivate"):
            raise PermanentCarrierError(f"'{status}' is not a ThingSpace device action")
        body = self._call(
            "POST",
            f"/devices/actions/{status}",
            json={"accountName": self.account, "devices": self._devices(iccid)},
        )
        return ChangeAccepted(iccid, body["requestId"], asynchronous=True)

    def change_identifiers(
        self,
        iccid: str,
        new_iccid: str | None = None,
        new_imei: str | None = None,
        service_plan: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChangeAccepted:
        if not new_iccid and not new_imei:
            raise PermanentCarrierError("a new ICCID or a new IMEI is needed")
        option = (
            "ChangeICCIDAndIMEI" if new_iccid and new_imei else ("ChangeICCID" if new_iccid else "ChangeIMEI")
        )
        to = [{"id": new_iccid, "kind": "iccid"}] if new_iccid else []
        to += [{"id": new_imei, "kind": "imei"}] if new_imei else []
        body: dict[str, Any] = {
            "accountName": self.account,
            "deviceIds": [{"id": iccid, "kind": "iccid"}],
            "deviceIdsTo": to,
            "change4gOption": option,
        }
        if service_plan:
            body["servicePlan"] = service_plan
        answer = self._call("PUT", "/devices/actions/deviceId", json=body)
        return ChangeAccepted(iccid, answer["requestId"], asynchronous=True)

    def register_callback(self, url: str) -> None:
        self._call("POST", f"/callbacks/{self.account}", json={"name": "CarrierService", "url": url})


def _before(iccid: str) -> str:
    """The largest id that sorts just before `iccid`, to list exactly that device."""
    return iccid[:-1] + chr(ord(iccid[-1]) - 1) + "~" if iccid else ""
