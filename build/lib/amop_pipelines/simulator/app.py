"""The simulator as one ASGI app: both carrier APIs, the control API and the callback sender."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from amop_pipelines.simulator import control, jasper, thingspace
from amop_pipelines.simulator.callbacks import CallbackDispatcher
from amop_pipelines.simulator.guard import Guard
from amop_pipelines.simulator.state import SimState


def create_app(state: SimState) -> Starlette:
    guard = Guard(state)
    callbacks = CallbackDispatcher(state)
    carrier_routes = [
        Route(path, guard.wrap("jasper", handler), methods=[method])
        for path, handler, method in jasper.routes(state)
    ] + [
        Route(path, guard.wrap("thingspace", handler), methods=[method])
        for path, handler, method in thingspace.routes(state, callbacks)
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = asyncio.create_task(callbacks.run())
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await callbacks.close()

    app = Starlette(routes=[*control.routes(state, guard, callbacks), *carrier_routes], lifespan=lifespan)
    app.state.sim = state
    app.state.guard = guard
    app.state.callbacks = callbacks
    return app
