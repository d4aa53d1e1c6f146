"""Executing a change request item by item against the carrier, safely across crashes.

Every transition is committed (with its audit row) before the next carrier call: an item is
marked in progress, with its attempt counted, before the call is made. A run that finds an item
still in progress (the previous run died during its call) first asks the carrier whether the
change is already there, and never sends it twice. Transient carrier errors are retried with
exponential backoff and jitter; items past their attempts go to the dead state with the reason;
permanent errors fail the item. Asynchronous carriers leave the item awaiting its callback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import CarrierError, PermanentCarrierError
from amop_pipelines.changes.handlers import HANDLERS
from amop_pipelines.changes.requests import ChangeError, audit
from amop_pipelines.db.models import ChangeItem, ChangeRequest, Device, ServiceProvider

TERMINAL = ("completed", "failed", "dead")
RUNNABLE = ("pending", "retry", "in_progress")


@dataclass
class ExecutionReport:
    request_id: str
    state: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (iccid, why)


def _set_item(engine: Engine, item_id: int, actor: str, request_id: str, action: str, **values) -> None:
    with engine.begin() as connection:
        before = connection.execute(
            select(ChangeItem.state, ChangeItem.attempts, ChangeItem.iccid).where(ChangeItem.id == item_id)
        ).one()
        connection.execute(
            update(ChangeItem).where(ChangeItem.id == item_id).values(**values, updated_at=datetime.now(UTC))
        )
        audit(
            connection,
            actor,
            "change_item",
            str(item_id),
            request_id,
            action,
            {"state": before.state, "attempts": before.attempts},
            {
                k: v
                for k, v in values.items()
                if k in ("state", "attempts", "last_error", "carrier_request_id")
            },
        )


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
) -> ExecutionReport:
    with engine.connect() as connection:
        request = connection.execute(
            select(ChangeRequest).where(ChangeRequest.request_id == request_id)
        ).one_or_none()
    if request is None:
        raise ChangeError(f"unknown change request '{request_id}'")
    if request.state not in ("pending", "running"):
        raise ChangeError(f"request {request_id} is {request.state}: only approved, pending requests run")
    handler = HANDLERS.get(request.change_type)
    if handler is None:
        raise ChangeError(f"{request.change_type} requests cannot be executed yet")
    _set_request(engine, request_id, actor, "running")
    clients: dict[int, CarrierClient] = {}
    try:
        with engine.connect() as connection:
            items = connection.execute(
                select(
                    ChangeItem.id,
                    ChangeItem.iccid,
                    ChangeItem.device_id,
                    ChangeItem.state,
                    ChangeItem.attempts,
                    ChangeItem.parameters,
                    ChangeItem.idempotency_key,
                )
                .where(ChangeItem.change_request_id == request.id, ChangeItem.state.in_(RUNNABLE))
                .order_by(ChangeItem.row_number)
            ).all()
        for item in items:
            with engine.connect() as connection:
                device = connection.execute(select(Device).where(Device.id == item.device_id)).one()
                provider = connection.execute(
                    select(ServiceProvider).where(ServiceProvider.id == device.service_provider_id)
                ).one()
            if provider.id not in clients:
                clients[provider.id] = client_for(provider)
            client = clients[provider.id]
            attempts = item.attempts
            unknown_outcome = item.state == "in_progress"
            while True:
                if unknown_outcome:
                    unknown_outcome = False
                    try:
                        if handler.already_applied(client, device.iccid, item.parameters):
                            handler.effect(engine, device, item.parameters, provider)
                            _set_item(
                                engine,
                                item.id,
                                actor,
                                request_id,
                                "completed (found applied)",
                                state="completed",
                                completed_at=datetime.now(UTC),
                            )
                            break
                    except CarrierError:
                        pass  # cannot tell: send it (the carrier's own rules refuse a true repeat)
                attempts += 1
                _set_item(
                    engine, item.id, actor, request_id, "attempt", state="in_progress", attempts=attempts
                )
                try:
                    accepted = handler.apply(client, device.iccid, item.parameters, item.idempotency_key)
                except PermanentCarrierError as error:
                    _set_item(
                        engine, item.id, actor, request_id, "failed", state="failed", last_error=str(error)
                    )
                    break
                except CarrierError as error:
                    if attempts >= max_attempts:
                        _set_item(
                            engine,
                            item.id,
                            actor,
                            request_id,
                            "dead",
                            state="dead",
                            last_error=f"gave up after {attempts} attempts: {error}",
                        )
                        break
                    _set_item(
                        engine, item.id, actor, request_id, "retry", state="retry", last_error=str(error)
                    )
                    time.sleep(backoff_seconds * 2 ** (attempts - 1) * (0.5 + random.random()))
                    continue
                if accepted.asynchronous:
                    _set_item(
                        engine,
                        item.id,
                        actor,
                        request_id,
                        "awaiting callback",
                        state="awaiting_callback",
                        carrier_request_id=accepted.request_id,
                    )
                else:
                    handler.effect(engine, device, item.parameters, provider)
                    _set_item(
                        engine,
                        item.id,
                        actor,
                        request_id,
                        "completed",
                        state="completed",
                        completed_at=datetime.now(UTC),
                    )
                break
    finally:
        for client in clients.values():
            client.close()
    return summarize(engine, request_id, actor)


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
        state = "completed" if counts.get("completed", 0) == len(rows) else "completed_with_errors"
    elif counts.get("awaiting_callback"):
        state = "awaiting_callbacks"
    else:
        state = "running"
    _set_request(engine, request_id, actor, state)
    failures = [(row.iccid, row.last_error or row.state) for row in rows if row.state in ("failed", "dead")]
    return ExecutionReport(request_id, state, counts, failures)
