"""ThingSpace's asynchronous callbacks: one per device, to the URL registered for the service
(CarrierService for actions, DeviceUsage for aggregate usage), with the registered username and
password in the body, retried until answered 2xx (4 deliveries at most)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from amop_pipelines.simulator.state import SimState

MAX_DELIVERIES = 4
PARALLEL_DELIVERIES = 8  # callbacks posted at once
RETRY_SECONDS = 300.0  # Verizon retries an unanswered callback 5 minutes later, on the simulator's clock


@dataclass(order=True)
class Delivery:
    due: float
    sequence: int
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(default=1, compare=False)
    service: str = field(default="CarrierService", compare=False)


class CallbackDispatcher:
    """Holds callbacks until due, posts them to the registered URL, and counts what happened. Due
    times are on the simulator's clock (`advance_clock` brings retries forward)."""

    def __init__(self, state: SimState):
        self.state = state
        self.pending: list[Delivery] = []
        self.sequence = 0
        self.delivered = 0  # answered 2xx
        self.attempts = 0
        self.dropped = 0
        self.gave_up = 0
        self._wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None

    def enqueue(
        self, payloads: list[dict[str, Any]], carrier: str = "thingspace", service: str = "CarrierService"
    ) -> None:
        faults = self.state.faults.for_route(carrier, "/callbacks")
        chance, rng = self.state.faults.chance, self.state.faults.random
        batch = []
        for payload in payloads:
            if chance(faults.callback_drop_rate):
                self.dropped += 1
                continue
            batch.append(payload)
            if chance(faults.callback_duplicate_rate):
                batch.append(dict(payload))
        if faults.callback_reorder:
            rng.shuffle(batch)
        due = self._clock() + faults.callback_delay_seconds
        for payload in batch:
            self.sequence += 1  # the order within a due time: reordered batches keep their shuffle
            self.pending.append(Delivery(due, self.sequence, payload, service=service))
        self.pending.sort()
        self._wake.set()

    async def flush(self) -> int:
        """Deliver everything pending now, whatever its delay; returns how many were attempted.

        With `callback_reorder` set, the pending callbacks go out in a random order.
        """
        for delivery in self.pending:
            delivery.due = 0.0
        if self.state.faults.for_route("thingspace", "/callbacks").callback_reorder:
            self.state.faults.random.shuffle(self.pending)
            for position, delivery in enumerate(self.pending):
                delivery.sequence = position
        self.pending.sort()
        count = 0
        while self.pending:
            count += await self._deliver_due(force=True)
        return count

    def _clock(self) -> float:
        return self.state.now().timestamp()

    async def _deliver_due(self, force: bool = False) -> int:
        now = self._clock()
        due = [d for d in self.pending if force or d.due <= now]
        self.pending = [d for d in self.pending if not (force or d.due <= now)]
        for first in range(0, len(due), PARALLEL_DELIVERIES):  # several at once, in order of due time
            await asyncio.gather(*(self._post(d) for d in due[first : first + PARALLEL_DELIVERIES]))
        return len(due)

    async def _post(self, delivery: Delivery) -> None:
        registration = self.state.callbacks.get(delivery.service)
        if registration is None:
            self.gave_up += 1
            return
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=5.0, limits=httpx.Limits(max_connections=PARALLEL_DELIVERIES)
            )
        payload = {
            **delivery.payload,
            "callbackCount": delivery.attempt,
            "maxCallbackThreshold": MAX_DELIVERIES,
        }
        if registration.username or registration.password:
            payload |= {"username": registration.username, "password": registration.password}
        self.attempts += 1
        try:
            answer = await self._client.post(registration.url, json=payload)
            ok = 200 <= answer.status_code < 300
        except httpx.HTTPError:
            ok = False
        if ok:
            self.delivered += 1
        elif delivery.attempt < MAX_DELIVERIES:
            self.sequence += 1
            self.pending.append(
                Delivery(
                    self._clock() + RETRY_SECONDS,
                    self.sequence,
                    delivery.payload,
                    delivery.attempt + 1,
                    delivery.service,
                )
            )
            self.pending.sort()
        else:
            self.gave_up += 1

    async def run(self) -> None:
        while True:
            await self._deliver_due()
            timeout = (self.pending[0].due - self._clock()) if self.pending else 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, min(timeout, 1.0)))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
