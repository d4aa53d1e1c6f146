"""What every carrier route goes through: rate limits, calls in flight, injected faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from amop_pipelines.simulator.state import SimState

Handler = Callable[[Request], Awaitable[Response]]

RATE_LIMITED = {
    "jasper": {"errorMessage": "Rate limit exceeded", "errorCode": "40000029"},
    "thingspace": {"errorCode": "REQUEST_FAILED.RateLimitExceeded", "errorMessage": "Too many requests"},
}
SERVER_ERROR = {
    "jasper": {"errorMessage": "Internal server error", "errorCode": "50000000"},
    "thingspace": {"errorCode": "REQUEST_FAILED.UnexpectedError", "errorMessage": "Unexpected error"},
}


class _Bucket:
    def __init__(self) -> None:
        self.tokens: float | None = None  # starts full
        self.stamp = time.monotonic()
        self.in_flight = 0
        self.rate = 0.0


class Guard:
    """Per carrier account: a token bucket of `rate_limit_per_second` and a cap on calls in flight."""

    def __init__(self, state: SimState):
        self.state = state
        self.buckets = {carrier: _Bucket() for carrier in ("jasper", "thingspace")}
        self.served = {carrier: 0 for carrier in self.buckets}
        self.limited = {carrier: 0 for carrier in self.buckets}

    def _admit(self, carrier: str, rate: float, max_in_flight: int) -> bool:
        bucket = self.buckets[carrier]
        if max_in_flight and bucket.in_flight >= max_in_flight:
            return False
        if rate <= 0:
            return True
        now = time.monotonic()
        if rate != bucket.rate:  # new limits start with a full bucket
            bucket.rate, bucket.tokens = rate, None
        capacity = max(1.0, rate)
        held = capacity if bucket.tokens is None else bucket.tokens
        bucket.tokens = min(capacity, held + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def wrap(self, carrier: str, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            faults = self.state.faults.for_route(carrier, request.url.path)
            throttled = self.state.faults.chance(faults.throttle_rate)
            if throttled or not self._admit(carrier, faults.rate_limit_per_second, faults.max_in_flight):
                self.limited[carrier] += 1
                return JSONResponse(
                    RATE_LIMITED[carrier],
                    status_code=429,
                    headers={"Retry-After": f"{faults.retry_after_seconds:g}"},
                )
            bucket = self.buckets[carrier]
            bucket.in_flight += 1
            try:
                if self.state.faults.chance(faults.hang_rate):
                    await asyncio.sleep(faults.hang_seconds)
                if self.state.faults.chance(faults.error_rate):
                    status = self.state.faults.random.choice((500, 503))
                    return JSONResponse(SERVER_ERROR[carrier], status_code=status)
                self.served[carrier] += 1
                answer = await handler(request)
                if self.state.faults.chance(faults.hang_after_rate):  # done, but the answer is late
                    await asyncio.sleep(faults.hang_seconds)
                return answer
            finally:
                bucket.in_flight -= 1

        return guarded
