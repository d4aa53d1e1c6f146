"""Verizon ThingSpace Connectivity Management (M2M) API, as CARRIERS.md describes it."""

from __future__ import annotations

import base64
import uuid
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
    SimDevice,
    SimState,
)

M2M = "/api/m2m/v1"
MAX_PAGE = 2000
LOCK_AFTER_FAILED_LOGINS = 5
ACCESS_TOKEN_SECONDS = 3600


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errorCode": code, "errorMessage": message}, status_code=status)


def _ids(device: SimDevice) -> list[dict[str, str]]:
    return [
        {"id": device.iccid, "kind": "iccid"},
        {"id": device.imei, "kind": "imei"},
        {"id": device.msisdn, "kind": "msisdn"},
    ]


def _device(state: SimState, device: SimDevice, cycle_end: str) -> dict[str, Any]:
    return {
        "accountName": state.accounts["thingspace"],
        "deviceIds": _ids(device),
        "carrierInformations": [
            {"carrierName": "Verizon Wireless", "servicePlan": device.rate_plan, "state": device.status}
        ],
        "billingCycleEndDate": cycle_end,
        "lastActivationDate": device.date_activated.isoformat() if device.date_activated else None,
        "createdAt": device.date_added.isoformat(),
        "extendedAttributes": [
            {"key": "CommunicationPlan", "value": device.communication_plan},
            {"key": "Customer", "value": device.customer or ""},
        ],
    }


def routes(state: SimState, callbacks: CallbackDispatcher) -> list[tuple[str, Handler, str]]:
    creds = state.credentials
    basic = (
        "Basic "
        + base64.b64encode(f"{creds.thingspace_client_id}:{creds.thingspace_client_secret}".encode()).decode()
    )

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
            return _error(400, "REQUEST_FAILED.SessionToken.Expired", "Session token expired")
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

    def resolve(ids: list[dict[str, str]]) -> SimDevice | None:
        for entry in ids:
            if entry.get("kind", "").lower() == "iccid":
                device = state.devices.get(entry.get("id", ""))
                if device is not None and device.carrier == "thingspace":
                    return device
        return None

    def devices_of(body: dict[str, Any]) -> list[SimDevice] | JSONResponse:
        entries = body.get("devices")
        if not isinstance(entries, list) or not entries:
            return _error(400, "INPUT_INVALID.Devices", "devices must be a non-empty list")
        if len(entries) > MAX_DEVICES_PER_REQUEST:
            return _error(
                400, "INPUT_INVALID.Devices.TooMany", f"at most {MAX_DEVICES_PER_REQUEST} devices a request"
            )
        found = []
        for entry in entries:
            device = resolve(entry.get("deviceIds", []))
            if device is None:
                return _error(400, "REQUEST_FAILED.DeviceNotFound", "Device not found")
            found.append(device)
        return found

    def result(
        request_id: str, device: SimDevice, failure: tuple[str, str] | None, response: dict | None = None
    ):
        payload: dict[str, Any] = {"requestId": request_id, "deviceIds": _ids(device)}
        if failure:
            payload |= {
                "status": "Failed",
                "faultResponse": {"faultcode": failure[0], "faultstring": failure[1]},
            }
        else:
            payload |= {"status": "Success", "deviceResponse": response or {"state": device.status}}
        return payload

    def injected_failure() -> tuple[str, str] | None:
        faults = state.faults.for_route("thingspace", "/callbacks")
        if state.faults.chance(faults.callback_fail_rate):
            return "REQUEST_FAILED.UnexpectedError", "The carrier could not complete the request"
        return None

    async def list_devices(request: Request) -> Response:
        if refused := denied(request):
            return refused
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        size = int(body.get("maxNumberOfDevices") or MAX_PAGE)
        if not 1 <= size <= MAX_PAGE:
            return _error(
                400, "INPUT_INVALID.MaxNumberOfDevices", f"maxNumberOfDevices must be 1..{MAX_PAGE}"
            )
        after = body.get("largestDeviceIdSeen") or ""
        ordered = state.by_id("thingspace")
        lo, hi = 0, len(ordered)
        while lo < hi:  # first device id greater than the cursor
            mid = (lo + hi) // 2
            if ordered[mid].iccid <= after:
                lo = mid + 1
            else:
                hi = mid
        page = ordered[lo : lo + size]
        cycle_end = state.cycle_start().isoformat()
        return JSONResponse(
            {"hasMoreData": lo + size < len(ordered), "devices": [_device(state, d, cycle_end) for d in page]}
        )

    async def action(request: Request) -> Response:
        if refused := denied(request):
            return refused
        name = request.path_params["action"]
        if name not in THINGSPACE_ACTIONS:
            return _error(404, "INPUT_INVALID.Action", f"unknown action {name}")
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        devices = devices_of(body)
        if isinstance(devices, JSONResponse):
            return devices
        allowed_from, target = THINGSPACE_ACTIONS[name]
        request_id = str(uuid.uuid4())
        payloads = []
        for device in devices:
            failure = injected_failure()
            if failure is None and device.status not in allowed_from:
                code = (
                    "DeviceAlreadyActive"
                    if target == "active" and device.status == "active"
                    else "InvalidState"
                )
                failure = (f"REQUEST_FAILED.{code}", f"cannot {name} a device in state {device.status}")
            if failure is None:
                before = device.status
                device.status = target
                if target == "active" and device.date_activated is None:
                    device.date_activated = state.now()
                state.touch(device)
                state.record("thingspace", name, device.iccid, {"from": before, "to": target}, request_id)
            payloads.append(result(request_id, device, failure))
        callbacks.enqueue(payloads)
        return JSONResponse({"requestId": request_id})

    async def change_plan(request: Request) -> Response:
        if refused := denied(request):
            return refused
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        plan = body.get("servicePlan")
        if ("thingspace", plan) not in state.rate_plans:
            return _error(400, "INPUT_INVALID.ServicePlan", f"Invalid service plan {plan}")
        devices = devices_of(body)
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
            payloads.append(result(request_id, device, failure, {"servicePlan": device.rate_plan}))
        callbacks.enqueue(payloads)
        return JSONResponse({"requestId": request_id})

    async def change_identifier(request: Request) -> Response:
        if refused := denied(request):
            return refused
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        device = resolve(body.get("deviceIds", []))
        if device is None:
            return _error(400, "REQUEST_FAILED.DeviceNotFound", "Device not found")
        option = body.get("change4gOption")
        targets = {e.get("kind", "").lower(): e.get("id", "") for e in body.get("deviceIdsTo", [])}
        if option not in ("ChangeICCID", "ChangeIMEI", "ChangeICCIDAndIMEI"):
            return _error(400, "INPUT_INVALID.Change4gOption", f"unsupported change4gOption {option}")
        wants_iccid = option in ("ChangeICCID", "ChangeICCIDAndIMEI")
        wants_imei = option in ("ChangeIMEI", "ChangeICCIDAndIMEI")
        if (wants_iccid and not targets.get("iccid")) or (wants_imei and not targets.get("imei")):
            return _error(400, "INPUT_INVALID.DeviceIdsTo", "deviceIdsTo lacks the identifier to change to")
        plan = body.get("servicePlan")
        if plan and ("thingspace", plan) not in state.rate_plans:
            return _error(400, "INPUT_INVALID.ServicePlan", f"Invalid service plan {plan}")
        request_id = str(uuid.uuid4())
        failure = injected_failure()
        new_iccid = targets.get("iccid") if wants_iccid else None
        if failure is None and new_iccid:
            other = state.devices.get(new_iccid)
            if other is not None and (other.status != "deactive" or other.customer):
                failure = (
                    "REQUEST_FAILED.NewSimInUse",
                    "the new SIM must be inactive and on no billing account",
                )
        if failure is None and device.status == "deactive":
            failure = ("REQUEST_FAILED.InvalidState", "cannot change identifiers of a deactivated device")
        if (
            failure is None
            and device.status != "suspend"
            and state.faults.for_route("thingspace", request.url.path).suspend_for_identifier_change
        ):
            failure = ("REQUEST_FAILED.DeviceNotSuspended", "suspend the device before changing identifiers")
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
        callbacks.enqueue(
            [
                result(
                    request_id,
                    device,
                    failure,
                    {"from": old, "to": {"iccid": device.iccid, "imei": device.imei}},
                )
            ]
        )
        return JSONResponse({"requestId": request_id})

    async def usage_aggregate(request: Request) -> Response:
        if refused := denied(request):
            return refused
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        ids = body.get("deviceIds")
        if not isinstance(ids, list) or not ids:
            return _error(400, "INPUT_INVALID.DeviceIds", "deviceIds must be a non-empty list")
        if len(ids) > MAX_DEVICES_PER_REQUEST:
            return _error(
                400, "INPUT_INVALID.Devices.TooMany", f"at most {MAX_DEVICES_PER_REQUEST} devices a request"
            )
        usage = []
        now = state.now()
        for entry in ids:
            device = resolve([entry])
            if device is None:
                continue
            data, sms = state.cycle_to_date(device, now)
            usage.append(
                {"deviceId": {"id": device.iccid, "kind": "iccid"}, "dataUsage": data, "smsUsage": sms}
            )
        request_id = str(uuid.uuid4())
        state.requests[request_id] = {"requestId": request_id, "status": "Completed", "usage": usage}
        return JSONResponse({"requestId": request_id})

    async def request_status(request: Request) -> Response:
        if refused := denied(request):
            return refused
        found = state.requests.get(request.path_params["request_id"])
        if found is None:
            return _error(404, "REQUEST_FAILED.RequestNotFound", "Unknown request id")
        return JSONResponse(found)

    async def plans(request: Request) -> Response:
        if refused := denied(request):
            return refused
        return JSONResponse(
            [
                {
                    "name": p.name,
                    "code": p.name,
                    "monthlyCharge": p.monthly_charge,
                    "includedMb": p.included_mb,
                    "overageRate": p.overage_rate,
                    "overageUnitMb": p.overage_unit_mb,
                    "pooled": p.pooled,
                }
                for (carrier, _), p in state.rate_plans.items()
                if carrier == "thingspace"
            ]
        )

    async def register_callback(request: Request) -> Response:
        if refused := denied(request):
            return refused
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        if not body.get("url"):
            return _error(400, "INPUT_INVALID.Url", "url is required")
        state.callback_url = body["url"]
        return JSONResponse(
            {"accountName": request.path_params["account"], "name": body.get("name", "CarrierService")}
        )

    return [
        ("/api/ts/v1/oauth2/token", token, "POST"),
        (f"{M2M}/session/login", login, "POST"),
        (f"{M2M}/devices/actions/list", list_devices, "POST"),
        (f"{M2M}/devices/actions/plan", change_plan, "PUT"),
        (f"{M2M}/devices/actions/deviceId", change_identifier, "PUT"),
        (f"{M2M}/devices/{{service_type}}/actions/deviceId", change_identifier, "PUT"),
        (f"{M2M}/devices/actions/{{action}}", action, "POST"),
        (f"{M2M}/devices/usage/actions/list/aggregate", usage_aggregate, "POST"),
        (f"{M2M}/requests/{{request_id}}", request_status, "GET"),
        (f"{M2M}/plans/{{account}}", plans, "GET"),
        (f"{M2M}/callbacks/{{account}}", register_callback, "POST"),
    ]
