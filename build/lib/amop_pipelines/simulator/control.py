"""The simulator's control API (under /_sim): faults, clock, callbacks, the operation log.

Loopback only and unauthenticated: it is a test peer's remote control, not a carrier API.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from amop_pipelines.simulator.callbacks import CallbackDispatcher
from amop_pipelines.simulator.guard import Guard
from amop_pipelines.simulator.state import SimState


def routes(state: SimState, guard: Guard, callbacks: CallbackDispatcher) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "devices": len(state.devices), "now": state.now().isoformat()})

    async def get_faults(request: Request) -> Response:
        return JSONResponse(
            {
                "carriers": {name: f.to_dict() for name, f in state.faults.carrier.items()},
                "routes": [
                    {"carrier": c, "route": r, **f.to_dict()} for (c, r), f in state.faults.routes.items()
                ],
            }
        )

    async def set_faults(request: Request) -> Response:
        body = await request.json()
        carrier = body.pop("carrier", None)
        route = body.pop("route", None)
        try:
            faults = state.faults.set(carrier, body, route)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(faults.to_dict())

    async def reset_faults(request: Request) -> Response:
        state.faults.reset()
        return JSONResponse({"ok": True})

    async def clock(request: Request) -> Response:
        body = await request.json()
        if "freeze" in body:
            state.freeze(bool(body["freeze"]))
        return JSONResponse({"now": state.advance(float(body.get("advance_seconds", 0))).isoformat()})

    async def flush(request: Request) -> Response:
        return JSONResponse({"attempted": await callbacks.flush()})

    async def callback_stats(request: Request) -> Response:
        return JSONResponse(
            {
                "pending": len(callbacks.pending),
                "delivered": callbacks.delivered,
                "attempts": callbacks.attempts,
                "dropped": callbacks.dropped,
                "gave_up": callbacks.gave_up,
                "registered": {name: r.url for name, r in state.callbacks.items()},
            }
        )

    async def operations(request: Request) -> Response:
        since = int(request.query_params.get("since", 0))
        return JSONResponse([asdict(op) for op in state.operations if op.sequence > since])

    async def captured(request: Request) -> Response:
        """The carrier requests served, in order (method, path, body), for contract tests."""
        since = int(request.query_params.get("since", 0))
        return JSONResponse(list(state.captured)[since:])

    async def clear_captured(request: Request) -> Response:
        state.captured.clear()
        return JSONResponse({"cleared": True})

    async def expire_sessions(request: Request) -> Response:
        return JSONResponse({"expired": state.expire_sessions()})

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                "served": guard.served,
                "rate_limited": guard.limited,
                "logins": state.logins,
                "locked": state.locked,
            }
        )

    async def change_device(request: Request) -> Response:
        """Change a device carrier-side, as if someone used the carrier's portal."""
        device = state.devices.get(request.path_params["iccid"])
        if device is None:
            return JSONResponse({"error": "unknown iccid"}, status_code=404)
        body = await request.json()
        device.status = body.get("status", device.status)
        device.rate_plan = body.get("ratePlan", device.rate_plan)
        device.communication_plan = body.get("communicationPlan", device.communication_plan)
        device.customer = body.get("customer", device.customer)
        if "bytesPerDay" in body:
            device.bytes_per_day = float(body["bytesPerDay"])
        state.touch(device)
        return JSONResponse({"iccid": device.iccid, "status": device.status, "ratePlan": device.rate_plan})

    async def device(request: Request) -> Response:
        found = state.devices.get(request.path_params["iccid"])
        if found is None:
            return JSONResponse({"error": "unknown iccid"}, status_code=404)
        return JSONResponse(
            {
                "carrier": found.carrier,
                "iccid": found.iccid,
                "imei": found.imei,
                "status": found.status,
                "ratePlan": found.rate_plan,
                "communicationPlan": found.communication_plan,
                "planChanges": len(found.plan_changes),
            }
        )

    return [
        Route("/_sim/health", health, methods=["GET"]),
        Route("/_sim/faults", get_faults, methods=["GET"]),
        Route("/_sim/faults", set_faults, methods=["PUT"]),
        Route("/_sim/faults", reset_faults, methods=["DELETE"]),
        Route("/_sim/clock", clock, methods=["POST"]),
        Route("/_sim/callbacks/flush", flush, methods=["POST"]),
        Route("/_sim/callbacks", callback_stats, methods=["GET"]),
        Route("/_sim/operations", operations, methods=["GET"]),
        Route("/_sim/sessions/expire", expire_sessions, methods=["POST"]),
        Route("/_sim/requests", captured, methods=["GET"]),
        Route("/_sim/requests", clear_captured, methods=["DELETE"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/devices/{iccid}", device, methods=["GET"]),
        Route("/_sim/devices/{iccid}", change_device, methods=["PATCH"]),
    ]
