"""Verizon ThingSpace Connectivity Management (M2M) API, in the shapes of CARRIERS.md and of
Verizon's generated SDK (`apimatic-verizon-sdk`): what the real API refuses, this refuses."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from amop_pipelines.simulator.callbacks import CallbackDispatcher
from amop_pipelines.simulator.guard import Handler
from amop_pipelines.simulator.state import (
    MAX_DEVICES_PER_REQUEST,
    PLAN_CHANGES_PER_MONTH,
    THINGSPACE_ACTIONS,
    CallbackRegistration,
    SimDevice,
    SimState,
)

M2M = "/api/m2m/v1"
MAX_PAGE = 2000
MAX_DELETE = 100
LOCK_AFTER_FAILED_LOGINS = 5
ACCESS_TOKEN_SECONDS = 3600
DEACTIVATE_REASONS = {"FF"}
CHANGE_OPTIONS = {"changeiccid", "changeimei", "changeimeiandiccid", "changemsisdn"}
CALLBACK_SERVICES = {
    "CarrierService",
    "DeviceUsage",
    "DeviceProvisioningHistory",
    "DeviceSuspension",
    "ExternalProvisioningChanges",
    "PRLChange",
    "PromoChanges",
    "SMSDeliveryConfirmation",
    "EnhancedConnectivityService",
}
USAGE_WINDOW = timedelta(days=31)
USAGE_REACH = timedelta(days=184)
ZIP = re.compile(r"^\d{5}$")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errorCode": code, "errorMessage": message}, status_code=status)


def _ids(device: SimDevice) -> list[dict[str, str]]:
    ids = [("iccid", device.iccid), ("imei", device.imei), ("mdn", device.msisdn), ("msisdn", device.msisdn)]
    return [{"id": value, "kind": kind} for kind, value in ids if value]


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") if value else None


def _time(value: object) -> datetime | None:
    """ThingSpace takes ISO 8601 date-times; no zone means UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _device(state: SimState, device: SimDevice, cycle_end: str) -> dict[str, Any]:
    return {
        "accountName": state.accounts["thingspace"],
        "deviceIds": _ids(device),
        "carrierInformations": [
            {"carrierName": "Verizon Wireless", "servicePlan": device.rate_plan, "state": device.status}
        ],
        "billingCycleEndDate": cycle_end,
        "connected": device.status == "active",
        "createdAt": _stamp(device.date_added),
        "lastActivationDate": _stamp(device.date_activated),
        "lastConnectionDate": _stamp(device.date_updated),
        "groupNames": ["Default: " + state.accounts["thingspace"]],
        "customFields": [],
        "extendedAttributes": [
            {"key": "DeviceId", "value": str(device.device_id)},
            {"key": "PrimaryPlaceOfUseFirstName", "value": ""},
        ],
    }


def routes(state: SimState, callbacks: CallbackDispatcher) -> list[tuple[str, Handler, str]]:
    creds = state.credentials
    basic = (
        "Basic "
        + base64.b64encode(f"{creds.thingspace_client_id}:{creds.thingspace_client_secret}".encode()).decode()
    )
    account = state.accounts["thingspace"]

    async def token(request: Request) -> Response:
        if request.headers.get("authorization") != basic:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = parse_qs((await request.body()).decode())
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        return JSONResponse(
            {
                "access_token": state.issue_access_token(ACCESS_TOKEN_SECONDS),
                "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "Bearer",
                "scope": "ts.mtas ts.m2m",
            }
        )

    def bearer_ok(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and state.access_token_valid(header[7:])

    async def login(request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if state.locked:
            return _error(
                400, "REQUEST_FAILED.AccountLocked", "Too many failed logins: the account is locked"
            )
        body = await request.json()
        state.captured.append(
            {
                "carrier": "thingspace",
                "method": "POST",
                "path": request.url.path,
                "body": body,
                "at": time.time(),
            }
        )
        if (
            body.get("username") != creds.thingspace_username
            or body.get("password") != creds.thingspace_password
        ):
            state.failed_logins += 1
            if state.failed_logins >= LOCK_AFTER_FAILED_LOGINS:
                state.locked = True
            return _error(400, "INPUT_INVALID.Login.Invalid", "Invalid username or password")
        state.failed_logins = 0
        return JSONResponse({"sessionToken": state.issue_session()})

    def denied(request: Request) -> JSONResponse | None:
        if not bearer_ok(request):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        session = state.session_state(request.headers.get("vz-m2m-token", ""))
        if session == "expired":
            return _error(
                400, "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired", "Session token expired"
            )
        if session != "ok":
            return _error(400, "REQUEST_FAILED.SessionToken.Invalid", "Session token invalid")
        return None

    async def body_of(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "INPUT_INVALID.Body", "the body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "INPUT_INVALID.Body", "the body must be a JSON object")
        return body

    async def accepted(request: Request) -> dict[str, Any] | JSONResponse:
        """The body of an authorized call, or the refusal; every call is captured for tests."""
        if refused := denied(request):
            return refused
        body: dict[str, Any] | JSONResponse = {}
        if request.method != "GET" and request.method != "DELETE":
            body = await body_of(request)
        state.captured.append(
            {
                "carrier": "thingspace",
                "method": request.method,
                "path": request.url.path,
                "body": body if isinstance(body, dict) else None,
                "at": time.time(),
            }
        )
        return body

    def resolve(entry: object) -> SimDevice | None:
        """A device by one `{id, kind}` of its identifiers (kinds compare case-insensitively)."""
        if not isinstance(entry, dict):
            return None
        kind, value = str(entry.get("kind", "")).lower(), str(entry.get("id", ""))
        if kind == "iccid":
            device = state.devices.get(value)
            return device if device is not None and device.carrier == "thingspace" else None
        if kind in ("imei", "mdn", "msisdn") and value:
            for device in state.by_id("thingspace"):
                if (device.imei if kind == "imei" else device.msisdn) == value:
                    return device
        return None

    def devices_in(entries: object, field: str = "devices", limit: int = MAX_DEVICES_PER_REQUEST):
        if not isinstance(entries, list) or not entries:
            return _error(400, "INPUT_INVALID.Devices", f"{field} must be a non-empty list")
        if len(entries) > limit:
            return _error(400, "INPUT_INVALID.Devices.TooMany", f"at most {limit} devices a request")
        found = []
        for entry in entries:
            ids = entry.get("deviceIds") if isinstance(entry, dict) else None
            if not isinstance(ids, list) or not ids:
                return _error(400, "INPUT_INVALID.DeviceIds", "each device needs deviceIds [{id, kind}]")
            device = next((d for d in map(resolve, ids) if d is not None), None)
            if device is None:
                return _error(400, "UnifiedWebService.REQUEST_FAILED.DeviceNotFound", "Device not found")
            found.append(device)
        return found

    def account_refused(body: dict[str, Any], required: bool = True) -> JSONResponse | None:
        name = body.get("accountName")
        if name is None and not required:
            return None
        if name != account:
            return _error(400, "INPUT_INVALID.AccountName", f"unknown account {name!r}")
        return None

    def result(
        request_id: str, device: SimDevice, failure: tuple[str, str] | None, response: dict | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"requestId": request_id, "deviceIds": _ids(device)}
        if failure:
            return payload | {
                "status": "Failed",
                "faultResponse": {"faultcode": failure[0], "faultstring": failure[1]},
            }
        return payload | {"status": "Success", "deviceResponse": response or {}}

    def injected_failure() -> tuple[str, str] | None:
        faults = state.faults.for_route("thingspace", "/callbacks")
        if state.faults.chance(faults.callback_fail_rate):
            return "REQUEST_FAILED.UnexpectedError", "The carrier could not complete the request"
        return None

    def file_request(request_id: str, payloads: list[dict[str, Any]], service: str = "CarrierService"):
        failed = any(p.get("status") == "Failed" for p in payloads)
        state.requests[request_id] = {"requestId": request_id, "status": "Failure" if failed else "Success"}
        callbacks.enqueue(payloads, service=service)
        return JSONResponse({"requestId": request_id})

    def settle_pending(device: SimDevice) -> None:
        """`pending activation` ends by itself once its time has come."""
        if device.pending_until is not None and state.now() >= device.pending_until:
            device.status, device.pending_until = "active", None
            state.touch(device)

    async def list_devices(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if refused := account_refused(body, required="deviceId" not in body):
            return refused
        cycle_end = (state.cycle_end() - timedelta(days=1)).date().isoformat()  # the last day billed
        if "deviceId" in body:
            device = resolve(body["deviceId"])
            if device is None:
                return _error(400, "UnifiedWebService.REQUEST_FAILED.DeviceNotFound", "Device not found")
            settle_pending(device)
            return JSONResponse({"hasMoreData": False, "devices": [_device(state, device, cycle_end)]})
        size = body.get("maxNumberOfDevices", MAX_PAGE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE:
            return _error(
                400, "INPUT_INVALID.MaxNumberOfDevices", f"maxNumberOfDevices must be 1..{MAX_PAGE}"
            )
        after = body.get("largestDeviceIdSeen", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            return _error(
                400,
                "INPUT_INVALID.LargestDeviceIdSeen",
                "largestDeviceIdSeen must be a number: the DeviceId of the last device seen",
            )
        ordered = state.by_id("thingspace")
        state_filter, plan_filter = body.get("currentState"), body.get("servicePlan")
        lo, hi = 0, len(ordered)
        while lo < hi:  # the first device with a larger id than the cursor
            mid = (lo + hi) // 2
            if ordered[mid].device_id <= after:
                lo = mid + 1
            else:
                hi = mid
        page, position = [], lo
        while position < len(ordered) and len(page) < size:
            device = ordered[position]
            position += 1
            if (state_filter and device.status != str(state_filter).lower()) or (
                plan_filter and device.rate_plan != plan_filter
            ):
                continue
            settle_pending(device)
            page.append(_device(state, device, cycle_end))
        return JSONResponse({"hasMoreData": position < len(ordered), "devices": page})

    async def action(request: Request) -> Response:
        name = request.path_params["action"]
        if name not in THINGSPACE_ACTIONS:
            return _error(404, "INPUT_INVALID.Action", f"unknown action {name}")
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if refused := account_refused(body, required=name == "deactivate"):
            return refused
        plan = body.get("servicePlan")
        if name == "activate":
            if ("thingspace", plan) not in state.rate_plans:
                return _error(400, "INPUT_INVALID.ServicePlan", f"servicePlan must be a plan code: {plan!r}")
            if not isinstance(body.get("mdnZipCode"), str) or not ZIP.match(body["mdnZipCode"]):
                return _error(400, "INPUT_INVALID.MdnZipCode", "mdnZipCode (five digits) is required")
        if name == "deactivate" and body.get("reasonCode") not in DEACTIVATE_REASONS:
            return _error(400, "INPUT_INVALID.ReasonCode", "reasonCode is required; the valid code is FF")
        devices = devices_in(body.get("devices"))
        if isinstance(devices, JSONResponse):
            return devices
        allowed_from, target = THINGSPACE_ACTIONS[name]
        pending_for = state.faults.for_route("thingspace", request.url.path).activation_pending_seconds
        request_id = str(uuid.uuid4())
        payloads = []
        for device in devices:
            settle_pending(device)
            failure = injected_failure()
            if failure is None and device.status not in allowed_from:
                code = {"active": "DeviceAlreadyActive", "pending activation": "ActivationPending"}.get(
                    device.status, "InvalidState"
                )
                failure = (f"REQUEST_FAILED.{code}", f"cannot {name} a device in state {device.status}")
            if failure is None:
                before = device.status
                device.status = target
                if name == "activate":
                    device.rate_plan = plan
                    if pending_for > 0:
                        device.status = "pending activation"
                        device.pending_until = state.now() + timedelta(seconds=pending_for)
                    device.date_activated = device.date_activated or state.now()
                state.touch(device)
                details = {"from": before, "to": device.status} | ({"servicePlan": plan} if plan else {})
                state.record("thingspace", name, device.iccid, details, request_id)
            payloads.append(
                result(request_id, device, failure, {f"{name}Response": {"state": device.status}})
            )
        return file_request(request_id, payloads)

    async def delete_devices(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if refused := account_refused(body, required=False):
            return refused
        devices = devices_in(body.get("devicesToDelete"), "devicesToDelete", MAX_DELETE)
        if isinstance(devices, JSONResponse):
            return devices
        answers = []
        for device in devices:
            if device.status != "deactive":
                answers.append(
                    {
                        "deviceIds": _ids(device),
                        "status": "Failed",
                        "message": "The device is not in deactivate state.",
                    }
                )
                continue
            state.remove(device)
            state.record("thingspace", "delete", device.iccid, {"from": device.status}, "")
            answers.append({"deviceIds": _ids(device), "status": "Success"})
        return JSONResponse(answers)

    async def change_plan(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if refused := account_refused(body, required=False):
            return refused
        plan = body.get("servicePlan")
        if ("thingspace", plan) not in state.rate_plans:
            return _error(400, "INPUT_INVALID.ServicePlan", f"servicePlan must be a plan code: {plan!r}")
        devices = devices_in(body.get("devices"))
        if isinstance(devices, JSONResponse):
            return devices
        request_id = str(uuid.uuid4())
        payloads = []
        for device in devices:
            failure = injected_failure()
            if failure is None and device.status == "suspend":
                failure = ("REQUEST_FAILED.DeviceSuspended", "no plan change while the device is suspended")
            if (
                failure is None
                and plan != device.rate_plan
                and state.plan_changes_this_month(device) >= PLAN_CHANGES_PER_MONTH
            ):
                failure = (
                    "REQUEST_FAILED.PlanChangeLimit",
                    f"at most {PLAN_CHANGES_PER_MONTH} plan changes a month",
                )
            if failure is None:
                before = device.rate_plan
                if plan != device.rate_plan:
                    device.plan_changes.append(state.now())
                device.rate_plan = plan
                state.touch(device)
                state.record("thingspace", "plan", device.iccid, {"from": before, "to": plan}, request_id)
            payloads.append(
                result(request_id, device, failure, {"servicePlanResponse": {"servicePlan": plan}})
            )
        return file_request(request_id, payloads)

    async def change_identifier(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        expected = state.faults.for_route("thingspace", request.url.path).identifier_service_type
        service_type = request.path_params["service_type"]
        if expected and service_type != expected:
            return _error(400, "INPUT_INVALID.ServiceType", f"unknown serviceType {service_type!r}")
        given = body.get("deviceIds")
        device = (
            next((d for d in map(resolve, given) if d is not None), None) if isinstance(given, list) else None
        )
        if device is None:
            return _error(400, "UnifiedWebService.REQUEST_FAILED.DeviceNotFound", "Device not found")
        option = str(body.get("change4gOption", ""))
        if option.lower() not in CHANGE_OPTIONS:
            return _error(400, "INPUT_INVALID.Change4gOption", f"unsupported change4gOption {option!r}")
        targets = {
            str(e.get("kind", "")).lower(): str(e.get("id", ""))
            for e in body.get("deviceIdsTo") or []
            if isinstance(e, dict)
        }
        wants_iccid = option.lower() in ("changeiccid", "changeimeiandiccid")
        wants_imei = option.lower() in ("changeimei", "changeimeiandiccid")
        if (wants_iccid and not targets.get("iccid")) or (wants_imei and not targets.get("imei")):
            return _error(400, "INPUT_INVALID.DeviceIdsTo", "deviceIdsTo lacks the identifier to change to")
        plan = body.get("servicePlan")
        if plan is not None and ("thingspace", plan) not in state.rate_plans:
            return _error(400, "INPUT_INVALID.ServicePlan", f"servicePlan must be a plan code: {plan!r}")
        request_id = str(uuid.uuid4())
        failure = injected_failure()
        new_iccid = targets.get("iccid") if wants_iccid else None
        if failure is None and new_iccid and new_iccid in state.devices:
            failure = (
                "REQUEST_FAILED.DeviceAlreadyExists",
                "the new ICCID is known to ThingSpace: delete the deactivated spare first",
            )
        if failure is None and (device.status != "active" or not device.msisdn):
            failure = (
                "REQUEST_FAILED.InvalidState",
                f"identifiers change only on an active device with an MDN, not {device.status}",
            )
        old = {"iccid": device.iccid, "imei": device.imei}
        if failure is None:
            if new_iccid:
                state.rekey(device, new_iccid)
            if wants_imei:
                device.imei = targets["imei"]
            if plan:
                device.rate_plan = plan
            state.touch(device)
            state.record(
                "thingspace",
                "deviceId",
                old["iccid"],
                {"from": old, "to": {"iccid": device.iccid, "imei": device.imei}, "servicePlan": plan},
                request_id,
            )
        response = {"deviceIdResponse": {"from": old, "to": {"iccid": device.iccid, "imei": device.imei}}}
        return file_request(request_id, [result(request_id, device, failure, response)])

    def window(
        body: dict[str, Any], start_key: str, end_key: str
    ) -> tuple[datetime, datetime] | JSONResponse:
        start, end = _time(body.get(start_key)), _time(body.get(end_key))
        if start is None or end is None:
            return _error(400, "INPUT_INVALID.Time", f"{start_key} and {end_key} (ISO 8601) are required")
        if end < start:
            return _error(400, "INPUT_INVALID.Time", f"{end_key} is before {start_key}")
        return start, min(end, state.now())

    async def usage_of_device(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        device = resolve(body.get("deviceId"))
        if device is None:
            return _error(400, "UnifiedWebService.REQUEST_FAILED.DeviceNotFound", "Device not found")
        span = window(body, "earliest", "latest")
        if isinstance(span, JSONResponse):
            return span
        start, end = span
        history, day = [], start
        while day < end:  # one record a day, as the carrier reports
            until = min(end, (day + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0))
            data, sms = state.usage_between(device, day, until)
            if data or sms:
                history.append(
                    {
                        "bytesUsed": data,
                        "smsUsed": sms,
                        "servicePlan": device.rate_plan,
                        "source": "Raw Usage",
                        "timestamp": _stamp(day),
                    }
                )
            day = until
        return JSONResponse({"hasMoreData": False, "usageHistory": history})

    async def usage_aggregate(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if refused := account_refused(body, required=False):
            return refused
        span = window(body, "startTime", "endTime")
        if isinstance(span, JSONResponse):
            return span
        start, end = span
        if end - start > USAGE_WINDOW:
            return _error(400, "INPUT_INVALID.Time", "endTime must be within one month of startTime")
        if start < state.now() - USAGE_REACH:
            return _error(400, "INPUT_INVALID.Time", "startTime cannot be more than 6 months back")
        ids = body.get("deviceIds")
        if not isinstance(ids, list) or not ids:
            return _error(400, "INPUT_INVALID.DeviceIds", "deviceIds must be a non-empty list")
        if len(ids) > MAX_DEVICES_PER_REQUEST:
            return _error(
                400, "INPUT_INVALID.Devices.TooMany", f"at most {MAX_DEVICES_PER_REQUEST} devices a request"
            )
        request_id = str(uuid.uuid4())
        payloads = []
        for entry in ids:
            device = resolve(entry)
            if device is None:
                continue
            data, sms = state.usage_between(device, start, end)
            usage = {
                "startTime": _stamp(start),
                "endTime": _stamp(end),
                "dataUsage": data,
                "smsUsage": sms,
                "servicePlan": device.rate_plan,
            }
            payloads.append(result(request_id, device, None, {"usageResponse": usage}))
        return file_request(request_id, payloads, service="DeviceUsage")

    async def request_status(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if request.path_params["account"] != account:
            return _error(400, "INPUT_INVALID.AccountName", "unknown account")
        found = state.requests.get(request.path_params["request_id"])
        if found is None:
            return _error(400, "REQUEST_FAILED.RequestNotFound", "Unknown request id")
        return JSONResponse({"requestId": found["requestId"], "status": found["status"]})

    async def plans(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if request.path_params["account"] != account:
            return _error(400, "INPUT_INVALID.AccountName", "unknown account")
        return JSONResponse(
            [
                {
                    "name": p.name,
                    "code": p.code,
                    "sizeKb": p.size_kb,
                    "carrierServicePlanCode": p.code,
                    "extendedAttributes": [],
                }
                for (carrier, _), p in state.rate_plans.items()
                if carrier == "thingspace"
            ]
        )

    async def register_callback(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        if request.path_params["account"] != account:
            return _error(400, "INPUT_INVALID.AccountName", "unknown account")
        name, url = body.get("name"), body.get("url")
        if name not in CALLBACK_SERVICES:
            return _error(400, "INPUT_INVALID.ServiceName", f"unknown callback service {name!r}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error(400, "INPUT_INVALID.Url", "url is required")
        state.callbacks[name] = CallbackRegistration(
            name, url, str(body.get("username") or ""), str(body.get("password") or "")
        )
        return JSONResponse({"accountName": account, "serviceName": name})

    async def list_callbacks(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        return JSONResponse(
            [
                {
                    "accountName": account,
                    "serviceName": r.name,
                    "url": r.url,
                    "username": r.username,
                    "password": r.password,
                }
                for r in state.callbacks.values()
            ]
        )

    async def deregister_callback(request: Request) -> Response:
        body = await accepted(request)
        if isinstance(body, JSONResponse):
            return body
        name = request.path_params["name"]
        if state.callbacks.pop(name, None) is None:
            return _error(400, "INPUT_INVALID.ServiceName", f"no callback registered for {name!r}")
        return JSONResponse({"accountName": account, "serviceName": name})

    return [
        ("/api/ts/v1/oauth2/token", token, "POST"),
        (f"{M2M}/session/login", login, "POST"),
        (f"{M2M}/devices/actions/list", list_devices, "POST"),
        (f"{M2M}/devices/actions/plan", change_plan, "PUT"),
        (f"{M2M}/devices/actions/delete", delete_devices, "POST"),
        (f"{M2M}/devices/{{service_type}}/actions/deviceId", change_identifier, "PUT"),
        (f"{M2M}/devices/actions/{{action}}", action, "POST"),
        (f"{M2M}/devices/usage/actions/list", usage_of_device, "POST"),
        (f"{M2M}/devices/usage/actions/list/aggregate", usage_aggregate, "POST"),
        (f"{M2M}/accounts/{{account}}/requests/{{request_id}}/status", request_status, "GET"),
        (f"{M2M}/plans/{{account}}", plans, "GET"),
        (f"{M2M}/callbacks/{{account}}", register_callback, "POST"),
        (f"{M2M}/callbacks/{{account}}", list_callbacks, "GET"),
        (f"{M2M}/callbacks/{{account}}/name/{{name}}", deregister_callback, "DELETE"),
    ]
