"""Carrier callbacks: a receiver that refuses calls without AMOP's callback credentials and stores
each callback once, and the reconciliation of stored callbacks with the items awaiting them.

ThingSpace echoes the username and password registered with the callback service in every
callback body: that is the only authentication Verizon offers (CARRIERS.md), so the receiver
compares both (in constant time) and stores the body without them. A secret in an
`X-AMOP-Callback-Secret` header or a `?token=` query is accepted as well. Repeated deliveries of
one callback (the carrier retries until answered 2xx) share a dedupe key and are stored once.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from amop_pipelines import settings
from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.errors import CarrierError
from amop_pipelines.changes import callback_body
from amop_pipelines.changes.executor import (
    ExecutionReport,
    device_and_provider,
    fail_item,
    set_item,
    step_done,
    summarize,
)
from amop_pipelines.changes.registry import change_type as registered_type
from amop_pipelines.db.models import CarrierCallback, ChangeItem, ChangeRequest, Device, ServiceProvider
from amop_pipelines.settings import CALLBACK_SECRET_ENV, CALLBACK_USERNAME_ENV

CREDENTIAL_FIELDS = ("username", "password")
CALLBACK_TIMEOUT = timedelta(minutes=30)  # an item waiting longer is checked on the carrier


def _insert_once(engine: Engine, row: dict) -> bool:
    """True when this call stored the row, False for a repeat (a row comes back only when inserted;
    rowcount is not reliable across drivers)."""
    dialect = engine.dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(CarrierCallback)
    with engine.begin() as connection:
        inserted = connection.execute(
            insert.values(**row)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(CarrierCallback.id)
        ).first()
    return inserted is not None


@contextlib.contextmanager
def running_receiver(
    engine: Engine, secret: str, username: str | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """The receiver served from a thread (the demo, tests); yields its callback URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(receiver_app(engine, secret, username), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the callback receiver did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}/callbacks/thingspace"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _TooLarge(Exception):
    pass


async def _bounded_body(request: Request) -> bytes:
    """The body, read no further than the limit (a declared length over it is refused unread)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > callback_body.MAX_BODY_BYTES:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > callback_body.MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def callback_username() -> str:
    return settings.get(CALLBACK_USERNAME_ENV)


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def receiver_app(engine: Engine, secret: str | None = None, username: str | None = None) -> Starlette:
    """The callback endpoint: POST /callbacks/thingspace."""
    secret = secret or settings.require(
        CALLBACK_SECRET_ENV, "the callback endpoint refuses every call without a secret"
    )
    try:  # a secret given directly meets the setting's rule too (length, no spaces at the ends)
        settings.SETTINGS[CALLBACK_SECRET_ENV].parse(secret)
    except ValueError as error:
        raise ValueError(f"the callback secret {error}") from None
    username = username or callback_username()

    async def thingspace(request: Request) -> Response:
        extra = request.headers.get("x-amop-callback-secret") or request.query_params.get("token")
        by_header = extra is not None and _same(extra, secret)
        try:
            body = callback_body.parse(await _bounded_body(request))
        except _TooLarge:
            return JSONResponse({"error": f"body over {callback_body.MAX_BODY_BYTES} bytes"}, status_code=413)
        except callback_body.BadCallback as error:
            # only a caller proven by header or token learns why its body was refused
            if not by_header:
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return JSONResponse({"error": str(error)}, status_code=400)
        by_body = _same(body.get("password"), secret) and _same(body.get("username"), username)
        if not (by_body or by_header):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            received = callback_body.callback(body)
        except callback_body.BadCallback as error:
            return JSONResponse({"error": f"not a ThingSpace callback: {error}"}, status_code=400)
        stored = _insert_once(
            engine,
            {
                "carrier_request_id": received.request_id,
                "dedupe_key": received.dedupe_key,
                "status": received.status,
                "payload": {k: v for k, v in body.items() if k not in CREDENTIAL_FIELDS},
                "received_at": datetime.now(UTC),
            },
        )
        return JSONResponse({"stored": stored})

    return Starlette(routes=[Route("/callbacks/thingspace", thingspace, methods=["POST"])])


def register_receiver(
    engine: Engine,
    client_for: Callable[[ServiceProvider], CarrierClient],
    url: str,
    secret: str,
    provider_name: str | None = None,
    username: str | None = None,
) -> dict[str, list[str]]:
    """Setting up an account: point its carrier's callbacks at AMOP's receiver (`url`, public),
    with the username and password the carrier will echo. Every active provider, or one by name;
    returns the callback services registered per provider (none for a carrier without callbacks)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the receiver URL must be http(s)://...: {url!r}")
    with Session(engine) as session:
        query = select(ServiceProvider).where(ServiceProvider.is_active)
        if provider_name:
            query = select(ServiceProvider).where(ServiceProvider.name == provider_name)
        providers = session.scalars(query.order_by(ServiceProvider.name)).all()
        session.expunge_all()
    if provider_name and not providers:
        raise ValueError(f"no service provider '{provider_name}'")
    registered = {}
    for provider in providers:
        client = client_for(provider)
        try:
            registered[provider.name] = client.register_callbacks(
                url, username or callback_username(), secret
            )
        finally:
            client.close()
    return registered


@dataclass
class Reconciled:
    completed: int = 0  # steps confirmed (an item's last step completes it)
    failed: int = 0
    duplicates: int = 0
    unmatched: int = 0
    pending: int = 0  # Pending callbacks: the item keeps waiting
    rechecked: int = 0
    finished: list[ExecutionReport] = field(default_factory=list)  # requests this settled


def reconcile(
    engine: Engine,
    client_for: Callable[[ServiceProvider], CarrierClient],
    now: datetime | None = None,
    actor: str = "callback-reconciler",
) -> Reconciled:
    """Settle items awaiting callbacks from the stored callbacks; check on those waiting too long.
    A confirmed step readies the item for its next one (its request goes back to pending)."""
    now = now or datetime.now(UTC)
    outcome = Reconciled()
    with engine.connect() as connection:
        callbacks = connection.execute(
            select(CarrierCallback).where(CarrierCallback.processed_at.is_(None)).order_by(CarrierCallback.id)
        ).all()
    for callback in callbacks:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            item = session.execute(
                select(ChangeItem, ChangeRequest.change_type, ChangeRequest.request_id)
                .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
                .where(ChangeItem.carrier_request_id == callback.carrier_request_id)
            ).one_or_none()
            session.execute(
                update(CarrierCallback).where(CarrierCallback.id == callback.id).values(processed_at=now)
            )
        if item is None:
            outcome.unmatched += 1  # a late repeat for a step already settled, or not ours
            continue
        change_item, change_type, request_id = item
        if change_item.state != "awaiting_callback":
            outcome.duplicates += 1  # already settled: a repeated or late callback
            continue
        if callback.status.lower() == "pending":
            outcome.pending += 1  # the carrier is still working on it: not an outcome
            continue
        if callback.status == "Success":
            step_done(engine, registered_type(change_type).handler, change_item, request_id, actor)
            outcome.completed += 1
        else:
            fault = (callback.payload.get("faultResponse") or {}).get("faultcode", callback.status)
            step = f"{change_item.step}: " if change_item.steps and len(change_item.steps) > 1 else ""
            earlier_steps = bool(change_item.steps) and change_item.step != change_item.steps[0]
            client = (
                client_for(device_and_provider(engine, change_item.device_id)[1]) if earlier_steps else None
            )
            fail_item(
                engine,
                registered_type(change_type).handler,
                change_item,
                request_id,
                actor,
                f"{step}carrier callback: {fault}",
                client,  # to undo what the earlier steps did
                expected_state="awaiting_callback",
            )
            outcome.failed += 1
    outcome.rechecked = _recheck_overdue(engine, client_for, now, actor)
    with engine.connect() as connection:
        waiting = connection.scalars(
            select(ChangeRequest.request_id).where(ChangeRequest.state == "awaiting_callbacks")
        ).all()
    for request_id in waiting:  # a running request is settled by its own run
        report = summarize(engine, request_id, actor)
        if report.finished:
            outcome.finished.append(report)
    return outcome


def _recheck_overdue(engine: Engine, client_for, now: datetime, actor: str) -> int:
    """Items with no callback within the timeout: done on the carrier, or sent again by a retry."""
    with Session(engine, expire_on_commit=False) as session:
        overdue = session.execute(
            select(ChangeItem, ChangeRequest.change_type, ChangeRequest.request_id, Device, ServiceProvider)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .join(Device, Device.id == ChangeItem.device_id)
            .join(ServiceProvider, ServiceProvider.id == Device.service_provider_id)
            .where(ChangeItem.state == "awaiting_callback", ChangeItem.updated_at < now - CALLBACK_TIMEOUT)
        ).all()
    clients: dict[int, CarrierClient] = {}
    try:
        for item, change_type, request_id, device, provider in overdue:
            handler = registered_type(change_type).handler
            if provider.id not in clients:
                clients[provider.id] = client_for(provider)
            try:
                applied = handler.already_applied(
                    clients[provider.id], device.iccid, item.parameters, item.step or "change"
                )
            except CarrierError:
                continue
            if applied:
                step_done(engine, handler, item, request_id, actor, found_applied=True)
                continue
            set_item(
                engine,
                item.id,
                actor,
                request_id,
                "retry (no callback)",
                expected_state="awaiting_callback",
                at=now,
                state="retry",
                last_error="no callback in time",
            )
    finally:
        for client in clients.values():
            client.close()
    return len(overdue)
