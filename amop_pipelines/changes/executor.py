"""Executing a change request item by item against the carrier, safely across crashes.

Every transition is committed (with its audit row) before the next carrier call: an item is
marked in progress, with its attempt counted, before the call is made. A run that finds an item
still in progress (the previous run died during its call) first asks the carrier whether the
change is already there, and never sends it twice. Transient carrier errors are retried with
exponential backoff and jitter; items past their attempts go to the dead state with the reason;
permanent errors fail the item. While the carrier's circuit is open no call is made, so none is
counted: the item waits for the circuit to close (at most `MAX_CIRCUIT_WAIT_SECONDS` in all).
Asynchronous carriers leave the item awaiting its callback; the reconciler then readies it for
its next step, which the request's next round sends. Items with an effective date wait,
scheduled, until a round on or after it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import (
    CarrierError,
    CircuitOpenError,
    PermanentCarrierError,
    UncertainOutcomeError,
)
from amop_pipelines.changes.change_type import ONE_STEP, Handler
from amop_pipelines.changes.registry import change_type
from amop_pipelines.changes.requests import ChangeError, audit
from amop_pipelines.changes.states import FINISHED, ITEM_FAILURES, TERMINAL
from amop_pipelines.db.models import ChangeItem, ChangeRequest, Device, ServiceProvider
from amop_pipelines.db.retry import unit_of_work

RUNNABLE = ("pending", "retry", "in_progress")


@dataclass
class ExecutionReport:
    request_id: str
    state: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    failures: list[tuple[str, str]] = field(default_factory=list)  # (iccid, why)


@unit_of_work
def set_item(
    engine: Engine,
    item_id: int,
    actor: str,
    request_id: str,
    action: str,
    expected_state: str | None = None,
    at: datetime | None = None,
    **values,
) -> bool:
    """An item's transition and its audit row, in one transaction. With `expected_state`, only
    from that state (a callback and a run may race to settle the same item): False if it was not."""
    guard = ChangeItem.id == item_id
    if expected_state is not None:
        guard &= ChangeItem.state == expected_state
    with engine.begin() as connection:
        before = connection.execute(
            select(ChangeItem.state, ChangeItem.attempts, ChangeItem.step).where(guard)
        ).one_or_none()
        if before is None:
            return False
        changed = connection.execute(
            update(ChangeItem).where(guard).values(**values, updated_at=at or datetime.now(UTC))
        ).rowcount
        if not changed:
            return False
        audit(
            connection,
            actor,
            "change_item",
            str(item_id),
            request_id,
            action,
            {"state": before.state, "attempts": before.attempts, "step": before.step},
            {
                k: v
                for k, v in values.items()
                if k in ("state", "attempts", "last_error", "carrier_request_id", "step", "steps")
            },
        )
    return True


@unit_of_work
def _set_request(engine: Engine, request_id: str, actor: str, state: str) -> None:
    with engine.begin() as connection:
        before = connection.scalar(select(ChangeRequest.state).where(ChangeRequest.request_id == request_id))
        if before == state:
            return
        connection.execute(
            update(ChangeRequest)
            .where(ChangeRequest.request_id == request_id)
            .values(state=state, updated_at=datetime.now(UTC))
        )
        audit(
            connection,
            actor,
            "change_request",
            request_id,
            request_id,
            f"state {state}",
            {"state": before},
            {"state": state},
        )


def execute_request(
    engine: Engine,
    request_id: str,
    client_for: Callable[[ServiceProvider], CarrierClient],
    max_attempts: int = 5,
    backoff_seconds: float = 0.2,
    actor: str = "change-engine",
    now: datetime | None = None,
) -> ExecutionReport:
    """One round of a request in this process: every item that may run now, until none is left."""
    item_ids = start_round(engine, request_id, actor)
    run_items(engine, request_id, item_ids, client_for, max_attempts, backoff_seconds, actor, now)
    return summarize(engine, request_id, actor)


@unit_of_work
def start_round(engine: Engine, request_id: str, actor: str = "change-engine") -> list[int]:
    """Mark the request running and count the round; returns its unsettled items (row order), which
    a round may run in batches, each in a process or on a worker of its own (`run_items`)."""
    with engine.connect() as connection:
        request = connection.execute(
            select(ChangeRequest.id, ChangeRequest.state).where(ChangeRequest.request_id == request_id)
        ).one_or_none()
    if request is None:
        raise ChangeError(f"unknown change request '{request_id}'")
    if request.state not in ("pending", "running", "scheduled"):
        raise ChangeError(f"request {request_id} is {request.state}: only approved, pending requests run")
    _set_request(engine, request_id, actor, "running")
    with engine.begin() as connection:
        connection.execute(
            update(ChangeRequest)
            .where(ChangeRequest.request_id == request_id)
            .values(rounds=ChangeRequest.rounds + 1)
        )
        return list(
            connection.scalars(
                select(ChangeItem.id)
                .where(ChangeItem.change_request_id == request.id, ChangeItem.state.not_in(TERMINAL))
                .order_by(ChangeItem.row_number)
            )
        )


def run_items(
    engine: Engine,
    request_id: str,
    item_ids: list[int],
    client_for: Callable[[ServiceProvider], CarrierClient],
    max_attempts: int = 5,
    backoff_seconds: float = 0.2,
    actor: str = "change-engine",
    now: datetime | None = None,
) -> None:
    """Run those of the items that may run now, until none is left to run: items the reconciler
    readies for their next step while this runs are taken too. Batches of one request may run side
    by side, since each item is only ever in one batch."""
    request = _request_row(engine, request_id)
    handler = change_type(request.change_type).handler
    clients: dict[int, CarrierClient] = {}

    def client_of(provider: ServiceProvider) -> CarrierClient:
        if provider.id not in clients:
            clients[provider.id] = client_for(provider)
        return clients[provider.id]

    runner = _ItemRunner(engine, handler, request_id, actor, max_attempts, backoff_seconds, client_of)
    try:
        while items := _runnable(engine, request.id, now or datetime.now(UTC), item_ids):
            for item in items:
                runner.run(item, now or datetime.now(UTC))
    finally:
        for client in clients.values():
            client.close()


@unit_of_work
def _request_row(engine: Engine, request_id: str):
    with engine.connect() as connection:
        return connection.execute(
            select(ChangeRequest.id, ChangeRequest.change_type).where(ChangeRequest.request_id == request_id)
        ).one()


@unit_of_work
def _runnable(engine: Engine, request_pk: int, now: datetime, among: list[int]) -> list:
    due = (ChangeItem.state == "scheduled") & (ChangeItem.next_attempt_at <= now)
    runnable = []
    with engine.connect() as connection:
        for start in range(0, len(among), 500):  # bound the IN list
            runnable += connection.execute(
                select(ChangeItem)
                .where(
                    ChangeItem.change_request_id == request_pk,
                    ChangeItem.id.in_(among[start : start + 500]),
                    ChangeItem.state.in_(RUNNABLE) | due,
                )
                .order_by(ChangeItem.row_number)
            ).all()
    return runnable


@unit_of_work
def device_and_provider(engine: Engine, device_id: int):
    with engine.connect() as connection:
        device = connection.execute(select(Device).where(Device.id == device_id)).one()
        provider = connection.execute(
            select(ServiceProvider).where(ServiceProvider.id == device.service_provider_id)
        ).one()
    return device, provider


@unit_of_work
def step_done(
    engine: Engine, handler: Handler, item, request_id: str, actor: str, found_applied: bool = False
) -> str | None:
    """The carrier confirmed the item's current step: its effect here, then the next step (the item
    ready to run again) or completion. Returns the next step, if any."""
    device, provider = device_and_provider(engine, item.device_id)
    steps = list(item.steps or ONE_STEP)
    step = item.step or steps[0]
    handler.effect(engine, device, item.parameters, provider, step)
    following = steps[steps.index(step) + 1] if steps.index(step) + 1 < len(steps) else None
    suffix = " (found applied)" if found_applied else ""
    if following is None:
        set_item(
            engine,
            item.id,
            actor,
            request_id,
            ("completed" if len(steps) == 1 else f"{step} done: activation complete") + suffix,
            state="completed",
            completed_at=datetime.now(UTC),
        )
    else:
        set_item(
            engine,
            item.id,
            actor,
            request_id,
            f"{step} done, next {following}" + suffix,
            state="pending",
            step=following,
            attempts=0,
            carrier_request_id=None,
        )
    return following


def fail_item(
    engine: Engine,
    handler: Handler,
    item,
    request_id: str,
    actor: str,
    why: str,
    client: CarrierClient | None,
    expected_state: str | None = None,
) -> bool:
    """The item fails with the carrier's reason; what its earlier steps did is undone first (as far
    as the type can), and the failure says so. False if another settled the item first."""
    steps = list(item.steps or ONE_STEP)
    done = steps[: steps.index(item.step)] if item.step in steps else []
    undone: list[str] = []
    if done and client is not None:
        device, _ = device_and_provider(engine, item.device_id)
        try:
            undone = handler.undo(engine, client, device, item.parameters, done)
        except CarrierError as error:
            undone = [f"could not undo {', '.join(done)}: {error}"]
    reason = why + (f"; undone: {'; '.join(undone)}" if undone else "")
    action = "failed" + (f", undo: {'; '.join(undone)}" if undone else "")
    return set_item(
        engine, item.id, actor, request_id, action, expected_state, state="failed", last_error=reason
    )


MAX_CIRCUIT_WAIT_SECONDS = 30 * 60  # an item waits this long in all for an open circuit, then dies


class _ItemRunner:
    """Walks one item through its steps; every transition is committed before the next call."""

    def __init__(
        self,
        engine: Engine,
        handler: Handler,
        request_id: str,
        actor: str,
        max_attempts: int,
        backoff_seconds: float,
        client_of: Callable[[ServiceProvider], CarrierClient],
    ):
        self.engine, self.handler, self.request_id, self.actor = engine, handler, request_id, actor
        self.max_attempts, self.backoff_seconds, self.client_of = max_attempts, backoff_seconds, client_of

    def _set(self, item_id: int, action: str, **values) -> None:
        set_item(self.engine, item_id, self.actor, self.request_id, action, **values)

    def run(self, item, now: datetime) -> None:
        device, provider = device_and_provider(self.engine, item.device_id)
        if item.state == "pending" and item.steps is None:
            when = self.handler.not_before(item.parameters, provider)
            if when is not None and when > now:
                self._set(
                    item.id, f"scheduled for {when.isoformat()}", state="scheduled", next_attempt_at=when
                )
                return
        client = self.client_of(provider)
        attempts, unknown_outcome = item.attempts, item.state == "in_progress"
        waited = 0.0
        while True:
            steps = list(item.steps) if item.steps else None
            if unknown_outcome and steps is not None:  # a run died during this step's call, or it
                # timed out or met a 5xx: read the carrier before anything is sent again
                try:
                    applied = self.handler.already_applied(client, device.iccid, item.parameters, item.step)
                except CircuitOpenError as error:
                    if (waited := self._wait_for_circuit(item, error, waited)) < 0:
                        return
                    continue
                except PermanentCarrierError:
                    applied = False  # the carrier says what it has: not this change, so send it
                except CarrierError as error:  # cannot read now: never resend while unsure
                    attempts += 1
                    if attempts >= self.max_attempts:
                        why = f"could not confirm after {attempts} attempts whether it was applied: {error}"
                        self._set(item.id, "dead", state="dead", last_error=self._why(item, Exception(why)))
                        return
                    self._set(item.id, "retry", state="retry", last_error=self._why(item, error))
                    time.sleep(self.backoff_seconds * 2 ** (attempts - 1) * (0.5 + random.random()))
                    continue
                unknown_outcome = False
                if applied:
                    if step_done(self.engine, self.handler, item, self.request_id, self.actor, True) is None:
                        return
                    item, attempts = self._reload(item.id), 0
                    device, _ = device_and_provider(self.engine, item.device_id)
                    continue
            attempts += 1
            self._set(item.id, "attempt", state="in_progress", attempts=attempts)
            try:
                if steps is None:  # plan the walk (a read on the carrier for multi-step types)
                    steps = list(self.handler.steps(client, device.iccid, item.parameters, provider))
                    self._set(item.id, f"planned {' > '.join(steps)}", steps=steps, step=steps[0])
                    item = self._reload(item.id)
                key = item.idempotency_key if len(steps) == 1 else f"{item.idempotency_key}:{item.step}"
                accepted = self.handler.apply(client, device.iccid, item.parameters, key, item.step)
            except PermanentCarrierError as error:
                fail_item(
                    self.engine,
                    self.handler,
                    item,
                    self.request_id,
                    self.actor,
                    self._why(item, error),
                    client,
                )
                return
            except CircuitOpenError as error:  # nothing was sent: the attempt is not spent
                attempts -= 1
                if (waited := self._wait_for_circuit(item, error, waited, attempts)) < 0:
                    return
                continue
            except CarrierError as error:
                unknown_outcome = isinstance(error, UncertainOutcomeError)
                if attempts >= self.max_attempts:
                    why = f"gave up after {attempts} attempts: {self._why(item, error)}"
                    self._set(item.id, "dead", state="dead", last_error=why)
                    return
                self._set(item.id, "retry", state="retry", last_error=self._why(item, error))
                time.sleep(self.backoff_seconds * 2 ** (attempts - 1) * (0.5 + random.random()))
                continue
            if accepted.asynchronous:
                self._set(
                    item.id,
                    "awaiting callback",
                    state="awaiting_callback",
                    carrier_request_id=accepted.request_id,
                )
                return
            if step_done(self.engine, self.handler, item, self.request_id, self.actor) is None:
                return
            item, attempts = self._reload(item.id), 0
            device, _ = device_and_provider(self.engine, item.device_id)

    def _wait_for_circuit(
        self, item, error: CircuitOpenError, waited: float, attempts: int | None = None
    ) -> float:
        """Sleep until the circuit half-opens; the time waited so far, or -1 once the item has
        waited `MAX_CIRCUIT_WAIT_SECONDS` in all (it is then dead, with the reason)."""
        pause = max(float(getattr(error, "retry_after", 0.0) or 0.0), self.backoff_seconds)
        if waited + pause > MAX_CIRCUIT_WAIT_SECONDS:
            why = f"the carrier's circuit stayed open for {waited / 60:.0f} min: {self._why(item, error)}"
            self._set(item.id, "dead", state="dead", last_error=why)
            return -1.0
        counted = {} if attempts is None else {"attempts": attempts}
        self._set(
            item.id, "waiting for the carrier's circuit", state="retry", last_error=str(error), **counted
        )
        time.sleep(pause)
        return waited + pause

    @unit_of_work
    def _reload(self, item_id: int):
        with self.engine.connect() as connection:
            return connection.execute(select(ChangeItem).where(ChangeItem.id == item_id)).one()

    @staticmethod
    def _why(item, error: Exception) -> str:
        return f"{item.step}: {error}" if item.steps and len(item.steps) > 1 else str(error)


@unit_of_work
def summarize(engine: Engine, request_id: str, actor: str = "change-engine") -> ExecutionReport:
    """Settle the request's state from its items' states."""
    with engine.connect() as connection:
        request_pk = connection.scalar(select(ChangeRequest.id).where(ChangeRequest.request_id == request_id))
        rows = connection.execute(
            select(ChangeItem.iccid, ChangeItem.state, ChangeItem.last_error).where(
                ChangeItem.change_request_id == request_pk
            )
        ).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    if all(row.state in TERMINAL for row in rows):
        if counts.get("completed", 0) == len(rows):
            state = "completed"
        elif counts.get("cancelled", 0) == len(rows):
            state = "cancelled"
        else:
            state = "completed_with_errors"
    elif any(counts.get(runnable) for runnable in RUNNABLE):
        state = "pending"  # items ready for their next step: another round
    elif counts.get("awaiting_callback"):
        state = "awaiting_callbacks"
    else:
        state = "scheduled"  # what is left waits for its effective date
    _set_request(engine, request_id, actor, state)
    failures = [(row.iccid, row.last_error or row.state) for row in rows if row.state in ITEM_FAILURES]
    return ExecutionReport(request_id, state, counts, failures)
