"""Cisco Jasper / Control Center REST API (base path /rws/api/v1), as CARRIERS.md describes it."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from amop_pipelines.simulator.guard import Handler
from amop_pipelines.simulator.state import (
    JASPER_STATUSES,
    JASPER_TRANSITIONS,
    SimDevice,
    SimState,
)

BASE = "/rws/api/v1"
MAX_PAGE_SIZE = 50
MAX_EFFECTIVE_DAYS = 180
CYCLES_HELD = 3  # usage by zone: the current billing cycle and the two before it


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errorMessage": message, "errorCode": code}, status_code=status)


def _date(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _parse_since(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _summary(device: SimDevice) -> dict:
    return {
        "iccid": device.iccid,
        "status": device.status,
        "ratePlan": device.rate_plan,
        "communicationPlan": device.communication_plan,
    }


def _details(state: SimState, device: SimDevice) -> dict:
    return {
        **_summary(device),
        "imsi": device.imsi,
        "msisdn": device.msisdn,
        "imei": device.imei,
        "customer": device.customer,
        "endConsumerId": None,
        "dateActivated": _date(device.date_activated),
        "dateAdded": _date(device.date_added),
        "dateUpdated": _date(device.date_updated),
        "accountId": state.accounts["jasper"],
    }


def _cycle(state: SimState, text: str | None) -> tuple[datetime, datetime] | JSONResponse:
    """[start, end) of the cycle that began on `text` (yyyy-MM-dd, a "Z" allowed): cycle to date
    for None; one of the last `CYCLES_HELD` cycles, or a 400."""
    now = state.now()
    current = state.cycle_start(now)
    if text is None:
        return current, now
    try:
        first = datetime.strptime(text.removesuffix("Z"), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return _error(400, "10000005", f"cycleStartDate {text!r} is not a date (yyyy-MM-dd)")
    if state.cycle_start(first + timedelta(hours=12)) != first:
        return _error(400, "10000025", f"cycleStartDate {text} is not the first day of a billing cycle")
    oldest = current
    for _ in range(CYCLES_HELD - 1):
        oldest = state.cycle_start(oldest - timedelta(days=1))
    if not oldest <= first <= current:
        return _error(
            400,
            "10000025",
            f"cycleStartDate {text}: usage is kept for the current and the two previous cycles",
        )
    return first, now if first == current else state.cycle_end(first)


def _usage(state: SimState, device: SimDevice, now: datetime | None = None) -> dict:
    data, sms = state.cycle_to_date(device, now)
    return {
        "iccid": device.iccid,
        "ctdDataUsage": data,
        "ctdSMSUsage": sms,
        "ctdVoiceUsage": 0,
        "ctdSessionCount": 1 if data else 0,
        "overageLimitReached": False,
    }


ROAMING_SHARE = 5  # every fifth device spends a fifth of its usage in a roaming zone


HOME, ROAMING = "Home", "Roaming Zone 1"


def _zone_usage(state: SimState, device: SimDevice, cycle: tuple[datetime, datetime]) -> list[tuple]:
    """(zone, bytes, SMS) of a device in the cycle: the one roaming rule both usage reads show."""
    data, sms = state.usage_between(device, *cycle)
    away = data // 5 if device.device_id % ROAMING_SHARE == 0 else 0
    return [(HOME, data - away, sms)] + ([(ROAMING, away, 0)] if away else [])


def _zones(state: SimState, devices: list[SimDevice], cycle: tuple[datetime, datetime]) -> list[dict]:
    """Usage by rate plan as Control Center answers it: zones, each listing its devices' usage; a
    device that roamed appears in more than one zone (the reader sums it)."""
    listed: dict[str, list[dict]] = {HOME: [], ROAMING: []}
    for device in devices:
        for zone, data, sms in _zone_usage(state, device, cycle):
            usage = {"dataUsage": data, "smsUsage": sms} | ({"voiceUsage": 0} if zone == HOME else {})
            listed[zone].append({"deviceId": device.iccid, "usage": usage})
    return [{"zone": zone, "devices": found} for zone, found in listed.items() if found or zone == HOME]


def _usage_in_zones(state: SimState, device: SimDevice, cycle: tuple[datetime, datetime]) -> dict:
    """Get Device Usage by Zone: the cycle's usage keyed "plan, version", a row per zone. The
    simulator keeps no plan history: a cycle's usage is shown under the device's plan now."""
    rows = _zone_usage(state, device, cycle)
    stamp = "%Y-%m-%dT%H:%M:%S.000Z"
    return {
        "iccid": device.iccid,
        "timestamp": state.now().strftime(stamp),
        "cycleStartDate": cycle[0].strftime(stamp),
        "cycleEndDate": (cycle[1] - timedelta(seconds=1)).strftime(stamp),
        "deviceCycleUsageInZones": {
            f"{device.rate_plan}, 1": [
                {
                    "ratePlan": device.rate_plan,
                    "ratePlanVersion": "1",
                    "zone": zone,
                    "dataUsage": zone_data,
                    "dataUsageUnit": "bytes",
                    "smsmousage": zone_sms,
                    "smsmtusage": 0,
                }
                for zone, zone_data, zone_sms in rows
            ]
        },
    }


def routes(state: SimState) -> list[tuple[str, Handler, str]]:
    creds = state.credentials
    expected = (
        "Basic " + base64.b64encode(f"{creds.jasper_username}:{creds.jasper_api_key}".encode()).decode()
    )

    def authorized(request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != expected:
            return _error(401, "10000001", "Invalid credentials")
        state.captured.append(
            {
                "carrier": "jasper",
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "body": None,
                "at": time.time(),
            }
        )
        return None

    def page_args(request: Request) -> tuple[int, int] | JSONResponse:
        try:
            size = int(request.query_params.get("pageSize", MAX_PAGE_SIZE))
            number = int(request.query_params.get("pageNumber", 1))
        except ValueError:
            return _error(400, "10000002", "pageSize and pageNumber must be numbers")
        if not 1 <= size <= MAX_PAGE_SIZE or number < 1:
            return _error(400, "10000002", f"pageSize must be 1..{MAX_PAGE_SIZE} and pageNumber 1 or more")
        return size, number

    async def search(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        since = request.query_params.get("modifiedSince")
        if not since:
            return _error(400, "10000003", "modifiedSince is required")
        try:
            since_at = _parse_since(since)
            till = request.query_params.get("modifiedTill")
            till_at = _parse_since(till) if till else None
        except ValueError:
            return _error(400, "10000003", "modifiedSince must look like yyyy-MM-ddTHH:mm:ssZ")
        paging = page_args(request)
        if isinstance(paging, JSONResponse):
            return paging
        size, number = paging
        status = request.query_params.get("status")
        matching = state.cached(
            ("search", since_at, till_at, status),
            lambda: [
                d
                for d in state.by_update("jasper")
                if d.date_updated >= since_at
                and (till_at is None or d.date_updated <= till_at)
                and (status is None or d.status == status)
            ],
        )
        page = matching[(number - 1) * size : number * size]
        return JSONResponse(
            {
                "pageNumber": number,
                "devices": [_summary(d) for d in page],
                "lastPage": number * size >= len(matching),
            }
        )

    def find(request: Request) -> SimDevice | JSONResponse:
        device = state.devices.get(request.path_params["iccid"])
        if device is None or device.carrier != "jasper":
            return _error(404, "10000004", f"Unknown ICCID {request.path_params['iccid']}")
        return device

    async def details(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        device = find(request)
        return device if isinstance(device, JSONResponse) else JSONResponse(_details(state, device))

    async def ctd_usage(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        device = find(request)
        return device if isinstance(device, JSONResponse) else JSONResponse(_usage(state, device))

    async def usage_in_zone(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        device = find(request)
        if isinstance(device, JSONResponse):
            return device
        cycle = _cycle(state, request.query_params.get("cycleStartDate"))
        if isinstance(cycle, JSONResponse):
            return cycle
        return JSONResponse(_usage_in_zones(state, device, cycle))

    async def usages(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        plan = request.query_params.get("ratePlanName")
        if not plan:
            return _error(400, "10000005", "ratePlanName is required")
        if ("jasper", plan) not in state.rate_plans:
            return _error(400, "10000024", f"Unknown rate plan {plan}")
        if plan in state.faults.for_route("jasper", request.url.path).usage_refused_plans:
            return _error(400, "10000030", f"Usage by rate plan is not available for shared plan {plan}")
        paging = page_args(request)
        if isinstance(paging, JSONResponse):
            return paging
        cycle = _cycle(state, request.query_params.get("cycleStartDate"))
        if isinstance(cycle, JSONResponse):
            return cycle
        size, number = paging
        on_plan = state.cached(
            ("plan", plan), lambda: [d for d in state.by_id("jasper") if d.rate_plan == plan]
        )
        page = on_plan[(number - 1) * size : number * size]
        return JSONResponse(
            {
                "ratePlanName": plan,
                "ratePlanVersion": 1,
                "pageNumber": number,
                "lastPage": number * size >= len(on_plan),
                "zones": _zones(state, page, cycle),
            }
        )

    async def rate_plans(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        paging = page_args(request)
        if isinstance(paging, JSONResponse):
            return paging
        size, number = paging
        plans = [p for (carrier, _), p in state.rate_plans.items() if carrier == "jasper"]
        page = plans[(number - 1) * size : number * size]
        return JSONResponse(
            {
                "pageNumber": number,
                "lastPage": number * size >= len(plans),
                # the fields beyond the name depend on the plan type and carry no price
                "ratePlans": [
                    {"name": p.code, "planType": p.plan_type, "includedData": p.allowance_mb} for p in page
                ],
            }
        )

    async def edit(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        device = find(request)
        if isinstance(device, JSONResponse):
            return device
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "10000006", "the body must be JSON")
        changes: dict[str, str] = {}
        if body.get("effectiveDate"):
            try:
                effective = datetime.fromisoformat(str(body["effectiveDate"]).replace("Z", "+00:00"))
            except ValueError:
                return _error(400, "10000007", "effectiveDate is not a date")
            if effective.tzinfo is None:
                effective = effective.replace(tzinfo=UTC)
            if effective > state.now() + timedelta(days=MAX_EFFECTIVE_DAYS):
                return _error(400, "10000007", f"effectiveDate is more than {MAX_EFFECTIVE_DAYS} days ahead")
        if "status" in body:
            status = body["status"]
            if status not in JASPER_STATUSES:
                return _error(400, "10000010", f"Invalid status {status}")
            if status != device.status and status not in JASPER_TRANSITIONS[device.status]:
                return _error(400, "10000011", f"Status cannot change from {device.status} to {status}")
            changes["status"] = status
        if "ratePlan" in body:
            plan = body["ratePlan"]
            if ("jasper", plan) not in state.rate_plans:
                return _error(400, "10000024", f"Invalid rate plan {plan}")
            changes["ratePlan"] = plan
        for field in ("communicationPlan", "customer"):
            if field in body:
                changes[field] = body[field]
        if not changes:
            return _error(400, "10000008", "nothing to change")
        if state.faults.chance(state.faults.for_route("jasper", request.url.path).edit_ignored_rate):
            return JSONResponse({"iccid": device.iccid})  # some tenants: 200, and nothing applied
        before = {"status": device.status, "ratePlan": device.rate_plan}
        device.status = changes.get("status", device.status)
        if changes.get("ratePlan", device.rate_plan) != device.rate_plan:
            device.plan_changes.append(state.now())
            device.rate_plan = changes["ratePlan"]
        device.communication_plan = changes.get("communicationPlan", device.communication_plan)
        device.customer = changes.get("customer", device.customer)
        if changes.get("status") == "ACTIVATED" and device.date_activated is None:
            device.date_activated = state.now()
        state.touch(device)
        state.record(
            "jasper",
            "edit",
            device.iccid,
            {"before": before, "changes": changes, "effectiveDate": body.get("effectiveDate")},
            request.headers.get("x-request-id", ""),
        )
        return JSONResponse({"iccid": device.iccid}, status_code=202 if body.get("effectiveDate") else 200)

    return [
        (f"{BASE}/devices", search, "GET"),
        (f"{BASE}/devices/{{iccid}}", details, "GET"),
        (f"{BASE}/devices/{{iccid}}", edit, "PUT"),
        (f"{BASE}/devices/{{iccid}}/ctdUsages", ctd_usage, "GET"),
        (f"{BASE}/devices/{{iccid}}/usageInZone", usage_in_zone, "GET"),
        (f"{BASE}/usages", usages, "GET"),
        (f"{BASE}/rateplans", rate_plans, "GET"),
    ]
