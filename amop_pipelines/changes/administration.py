"""What an operator does with requests once filed: list them, cancel what is not sent yet, retry
what failed as a new round, and export the items' outcomes. Every change is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from amop_pipelines.changes.executor import summarize
from amop_pipelines.changes.requests import ChangeError, _request, audit
from amop_pipelines.changes.states import FINISHED, ITEM_FAILURES
from amop_pipelines.contracts import write_csv
from amop_pipelines.db.models import ChangeItem, ChangeRequest, ServiceProvider

REQUEST_STATES = (
    "awaiting_approval",
    "pending",
    "running",
    "awaiting_callbacks",
    "scheduled",
    "completed",
    "completed_with_errors",
    "cancelled",
)
NOT_SENT = ("pending", "scheduled")  # item states that never reached the carrier (with no attempt)
RETRYABLE = ITEM_FAILURES
EXPORT_COLUMNS = (
    "row",
    "iccid",
    "state",
    "step",
    "attempts",
    "last_error",
    "carrier_request_id",
    "completed_at",
    "parameters",
    "previous_values",
)


@dataclass(frozen=True)
class RequestRow:
    request_id: str
    change_type: str
    state: str
    provider: str
    requested_by: str
    created_at: datetime
    items: int

    def line(self) -> str:
        return (
            f"{self.request_id}  {self.change_type:<26} {self.state:<21} {self.items:>6} items  "
            f"{self.provider}  by {self.requested_by}  {self.created_at:%Y-%m-%d %H:%M} UTC"
        )


def list_requests(engine: Engine, state: str | None = None, provider: str | None = None) -> list[RequestRow]:
    """Requests, newest first, of one state and one provider (by name) when given."""
    if state is not None and state not in REQUEST_STATES:
        raise ChangeError(f"unknown state '{state}': one of {', '.join(REQUEST_STATES)}")
    items = (
        select(ChangeItem.change_request_id, func.count().label("item_count"))
        .group_by(ChangeItem.change_request_id)
        .subquery()
    )
    query = (
        select(
            ChangeRequest.request_id,
            ChangeRequest.change_type,
            ChangeRequest.state,
            func.coalesce(ServiceProvider.name, "-"),
            ChangeRequest.requested_by,
            ChangeRequest.created_at,
            func.coalesce(items.c.item_count, 0),
        )
        .outerjoin(ServiceProvider, ServiceProvider.id == ChangeRequest.service_provider_id)
        .outerjoin(items, items.c.change_request_id == ChangeRequest.id)
        .order_by(ChangeRequest.id.desc())
    )
    with engine.connect() as connection:
        if provider is not None:
            known = connection.scalar(select(ServiceProvider.id).where(ServiceProvider.name == provider))
            if known is None:
                raise ChangeError(f"unknown service provider '{provider}'")
            query = query.where(ChangeRequest.service_provider_id == known)
        if state is not None:
            query = query.where(ChangeRequest.state == state)
        return [RequestRow(*row) for row in connection.execute(query)]


def cancel_request(engine: Engine, request_id: str, by: str) -> tuple[int, str]:
    """Cancels the items not sent to the carrier yet; returns (items cancelled, request state).
    Items sent, or being sent, are left to finish: a carrier call cannot be taken back."""
    with engine.begin() as connection:
        request = _request(connection, request_id)
        if request.state in FINISHED:
            raise ChangeError(f"request {request_id} is {request.state}: nothing left to cancel")
        cancelled = connection.execute(
            update(ChangeItem)
            .where(
                ChangeItem.change_request_id == request.id,
                ChangeItem.state.in_(NOT_SENT),
                ChangeItem.attempts == 0,
            )
            .values(state="cancelled", last_error=f"cancelled by {by}", updated_at=datetime.now(UTC))
        ).rowcount
        audit(
            connection, by, "change_request", request_id, request_id, "cancelled", None, {"items": cancelled}
        )
    if not cancelled or request.state == "running":
        return cancelled, request.state  # a running round settles the request when it ends
    return cancelled, summarize(engine, request_id, by).state


def retry_request(engine: Engine, request_id: str, by: str) -> int:
    """Failed and dead items as a new round: back to pending with their walk planned afresh (an
    undone walk starts over); the request pending for the sensor. Returns the items retried."""
    with engine.begin() as connection:
        request = _request(connection, request_id)
        if request.state in ("running", "awaiting_approval"):
            raise ChangeError(f"request {request_id} is {request.state}: retry it once it has finished")
        retried = connection.execute(
            update(ChangeItem)
            .where(ChangeItem.change_request_id == request.id, ChangeItem.state.in_(RETRYABLE))
            .values(
                state="pending",
                attempts=0,
                steps=None,
                step=None,
                carrier_request_id=None,
                next_attempt_at=None,
                updated_at=datetime.now(UTC),
            )
        ).rowcount
        if not retried:
            raise ChangeError(f"request {request_id} has no failed or dead item to retry")
        connection.execute(
            update(ChangeRequest)
            .where(ChangeRequest.id == request.id)
            .values(state="pending", updated_at=datetime.now(UTC))
        )
        audit(
            connection,
            by,
            "change_request",
            request_id,
            request_id,
            "retry",
            {"state": request.state},
            {"state": "pending", "items": retried},
        )
    return retried


def export_items(engine: Engine, request_id: str, path: Path) -> int:
    """Each item's outcome as CSV (EXPORT_COLUMNS), written whole or not at all; returns the rows."""
    with engine.connect() as connection:
        request = _request(connection, request_id)
        items = connection.execute(
            select(ChangeItem)
            .where(ChangeItem.change_request_id == request.id)
            .order_by(ChangeItem.row_number)
        ).all()
    return write_csv(
        path,
        EXPORT_COLUMNS,
        (
            [
                item.row_number,
                item.iccid,
                item.state,
                item.step or "",
                item.attempts,
                item.last_error or "",
                item.carrier_request_id or "",
                item.completed_at.isoformat() if item.completed_at else "",
                json.dumps(item.parameters, sort_keys=True),
                json.dumps(item.previous_values, sort_keys=True) if item.previous_values else "",
            ]
            for item in items
        ),
    )
