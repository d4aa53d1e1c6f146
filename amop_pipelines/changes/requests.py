"""Change requests: filing (all or nothing, with an audit row), approvals, status and audit trail."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from amop_pipelines import settings
from amop_pipelines.changes.csvfile import Problem, RejectedFile, Row, read_change_file
from amop_pipelines.changes.people import same_person
from amop_pipelines.changes.priorities import name_of as priority_name
from amop_pipelines.changes.registry import UnknownChangeType
from amop_pipelines.changes.registry import change_type as registered_type
from amop_pipelines.changes.validation import validate
from amop_pipelines.db.bulk import in_chunks
from amop_pipelines.db.models import (
    AuditLog,
    CarrierRatePlan,
    ChangeApproval,
    ChangeItem,
    ChangeRequest,
    Device,
)

AWAITING_APPROVAL, PENDING = "awaiting_approval", "pending"
ENTITY_ID_CHARS = AuditLog.__table__.c.entity_id.type.length

Step = Callable[[str], None]


def _quiet(_line: str) -> None:
    """No progress lines (the default outside the CLI)."""


class ChangeError(ValueError):
    """A request cannot be filed, approved or found as asked."""


def audit(
    connection: Connection,
    actor: str,
    entity_type: str,
    entity_id: str,
    request_id: str | None,
    action: str,
    before: dict | None,
    after: dict | None,
) -> None:
    """One audit row, in the caller's transaction: the one writer of the audit log."""
    connection.execute(
        insert(AuditLog).values(
            at=datetime.now(UTC),
            actor=actor,
            entity_type=entity_type,
            entity_id=entity_id[:ENTITY_ID_CHARS],  # a user's or account's name may be longer
            request_id=request_id,
            action=action,
            before=before,
            after=after,
        )
    )


def record_failed_run(engine: Engine, request_id: str, run_id: str, why: str) -> None:
    """A run of the request failed (before or during its round): noted in its audit trail."""
    with engine.begin() as connection:
        known = connection.scalar(select(ChangeRequest.id).where(ChangeRequest.request_id == request_id))
        if known is not None:
            audit(
                connection,
                "change-engine",
                "change_request",
                request_id,
                request_id,
                "run failed",
                None,
                {"dagster_run_id": run_id, "error": why[:2000]},
            )


def approvals_needed(change_type: str, items: Sequence[dict[str, Any]]) -> int:
    """Archiving, identifier changes, deactivations and large requests wait for approval: at least
    one, unless AMOP_ALLOW_UNAPPROVED_CRITICAL explicitly waives it (and the request says so)."""
    threshold = settings.get("AMOP_APPROVAL_THRESHOLD")
    kind = registered_type(change_type)
    critical = kind.is_critical([i["parameters"] for i in items]) or len(items) > threshold
    if not critical:
        return 0
    required = settings.get("AMOP_APPROVALS_REQUIRED")
    return required if required or settings.get("AMOP_ALLOW_UNAPPROVED_CRITICAL") else 1


def person(name: str, what: str) -> str:
    """A name as given, trimmed; a blank one is refused."""
    if not name or not name.strip():
        raise ChangeError(f"{what} must name someone")
    return name.strip()


def create_request(
    connection: Connection,
    change_type: str,
    items: Sequence[dict[str, Any]],  # each: iccid, device_id, parameters, optional previous_values
    requested_by: str,
    source: str,
    service_provider_id: int | None = None,
    filing_group: str | None = None,
    min_approvals: int = 0,
    priority: int = 0,
) -> str:
    """Store a request with its items and an audit row, in the caller's transaction;
    `min_approvals` 1 for a requester nobody authenticated (it waits for an approver)."""
    requested_by = person(requested_by, "requested_by")
    now = datetime.now(UTC)
    required = max(approvals_needed(change_type, items), min_approvals)
    waived = required == 0 and _critical(change_type, items)
    request = connection.execute(
        insert(ChangeRequest)
        .values(
            change_type=change_type,
            service_provider_id=service_provider_id,
            requested_by=requested_by,
            state=AWAITING_APPROVAL if required else PENDING,
            approvals_required=required,
            source=source,
            filing_group=filing_group,
            priority=priority,
            created_at=now,
            updated_at=now,
        )
        .returning(ChangeRequest.id, ChangeRequest.request_id, ChangeRequest.state)
    ).one()
    rows = (
        {
            "change_request_id": request.id,
            "row_number": row,
            "iccid": item["iccid"],
            "device_id": item["device_id"],
            "parameters": item["parameters"],
            "previous_values": item.get("previous_values"),
            "state": "pending",
            "idempotency_key": f"{request.request_id}:{row}",
            "created_at": now,
            "updated_at": now,
        }
        for row, item in enumerate(items, start=1)
    )
    for chunk in in_chunks(rows):  # one statement's parameters stay small, whatever the file's size
        connection.execute(insert(ChangeItem), chunk)
    audit(
        connection,
        requested_by,
        "change_request",
        request.request_id,
        request.request_id,
        "created",
        None,
        {"change_type": change_type, "items": len(items), "state": request.state, "source": source}
        | ({"approval": "waived by AMOP_ALLOW_UNAPPROVED_CRITICAL"} if waived else {}),
    )
    return request.request_id


def _critical(change_type: str, items: Sequence[dict[str, Any]]) -> bool:
    kind = registered_type(change_type)
    return kind.is_critical([i["parameters"] for i in items]) or len(items) > settings.get(
        "AMOP_APPROVAL_THRESHOLD"
    )


def _spec(change_type: str):
    try:
        return registered_type(change_type)
    except UnknownChangeType as unknown:
        raise ChangeError(str(unknown)) from None


def checked_file(
    engine: Engine, change_type: str, path: Path, requested_by: str, step: Step = _quiet
) -> list:
    """Every row of the file validated (`ValidItem`s); `RejectedFile` with every problem otherwise.
    What filing and the dry run both check."""
    spec = _spec(change_type)
    started = time.monotonic()
    rows = read_change_file(path, spec)
    step(f"read {len(rows):,} rows of {Path(path).name} ({time.monotonic() - started:.1f} s)")
    started = time.monotonic()
    valid, problems = validate(engine, spec, rows, str(path), requested_by)
    if problems:
        raise RejectedFile(sorted(problems, key=lambda p: (p.row, p.field)))
    step(f"checked {len(valid):,} rows against the fleet ({time.monotonic() - started:.1f} s)")
    return valid


def submit_file(
    engine: Engine, change_type: str, path: Path, requested_by: str, priority: int = 0, step: Step = _quiet
) -> str:
    """Validate every row, then store the request whole; raises `RejectedFile` with every problem.
    `step` hears a line as each stage ends (reading, checking, storing), for large files."""
    requested_by = person(requested_by, "requested_by")
    valid = checked_file(engine, change_type, path, requested_by, step)
    started = time.monotonic()
    request_id = _store(
        engine, change_type, valid, requested_by, f"file {Path(path).name}", priority=priority
    )
    step(f"stored {len(valid):,} items as one request ({time.monotonic() - started:.1f} s)")
    return request_id


def current_values(engine: Engine, device_ids: Sequence[int]) -> dict[int, Any]:
    """Each device's values a change may replace (status, ICCID, IMEI, carrier plan code) and its
    provider, by device id."""
    with engine.connect() as connection:
        return {
            row.id: row
            for ids in in_chunks(device_ids)
            for row in connection.execute(
                select(
                    Device.id,
                    Device.service_provider_id,
                    Device.status,
                    Device.iccid,
                    Device.imei,
                    CarrierRatePlan.plan_code,
                )
                .outerjoin(CarrierRatePlan, CarrierRatePlan.id == Device.carrier_rate_plan_id)
                .where(Device.id.in_(ids))
            )
        }


def _store(
    engine: Engine,
    change_type: str,
    valid: Sequence,
    requested_by: str,
    source: str,
    min_approvals: int = 0,
    priority: int = 0,
) -> str:
    # what each device was before, kept on its item so that a rollback request can be made
    before = current_values(engine, [item.device_id for item in valid])
    provider_ids = {row.service_provider_id for row in before.values()}
    with engine.begin() as connection:
        return create_request(
            connection,
            change_type,
            [
                {
                    "iccid": i.iccid,
                    "device_id": i.device_id,
                    "parameters": i.parameters,
                    "previous_values": {
                        "rate_plan": before[i.device_id].plan_code,
                        "status": before[i.device_id].status,
                        "iccid": before[i.device_id].iccid,
                        "imei": before[i.device_id].imei,
                    },
                }
                for i in valid
            ],
            requested_by,
            source,
            provider_ids.pop() if len(provider_ids) == 1 else None,
            min_approvals=min_approvals,
            priority=priority,
        )


def _request(connection: Connection, request_id: str):
    found = connection.execute(
        select(ChangeRequest).where(ChangeRequest.request_id == request_id)
    ).one_or_none()
    if found is None:
        raise ChangeError(f"unknown change request '{request_id}'")
    return found


def approve(engine: Engine, request_id: str, by: str) -> str:
    """Record an approval (never the requester's, never twice by one person); returns the state."""
    by = person(by, "--by")
    with engine.begin() as connection:
        request = _request(connection, request_id)
        if request.state != AWAITING_APPROVAL:
            raise ChangeError(f"request {request_id} is {request.state}, not awaiting approval")
        if same_person(by, request.requested_by):
            raise ChangeError(f"{by} filed request {request_id} and cannot approve it")
        approvers = connection.scalars(
            select(ChangeApproval.approved_by).where(ChangeApproval.change_request_id == request.id)
        ).all()
        if any(same_person(by, earlier) for earlier in approvers):
            raise ChangeError(f"{by} already approved request {request_id}")
        connection.execute(
            insert(ChangeApproval).values(
                change_request_id=request.id, approved_by=by, approved_at=datetime.now(UTC)
            )
        )
        count = connection.scalar(
            select(func.count())
            .select_from(ChangeApproval)
            .where(ChangeApproval.change_request_id == request.id)
        )
        state = PENDING if count >= request.approvals_required else AWAITING_APPROVAL
        connection.execute(
            update(ChangeRequest)
            .where(ChangeRequest.id == request.id)
            .values(state=state, updated_at=datetime.now(UTC))
        )
        audit(
            connection,
            by,
            "change_request",
            request_id,
            request_id,
            "approved",
            {"state": request.state, "approvals": count - 1},
            {"state": state, "approvals": count},
        )
    return state


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    change_type: str
    state: str
    requested_by: str
    approvals: int
    approvals_required: int
    items_by_state: dict[str, int]
    priority: int = 0

    def lines(self) -> list[str]:
        counts = ", ".join(f"{state} {count}" for state, count in sorted(self.items_by_state.items()))
        return [
            f"request {self.request_id}: {self.change_type} by {self.requested_by}, "
            f"priority {priority_name(self.priority)}",
            f"state: {self.state} (approvals {self.approvals} of {self.approvals_required})",
            f"items: {counts}",
        ]


def status(engine: Engine, request_id: str) -> RequestStatus:
    with engine.connect() as connection:
        request = _request(connection, request_id)
        counts = dict(
            connection.execute(
                select(ChangeItem.state, func.count())
                .where(ChangeItem.change_request_id == request.id)
                .group_by(ChangeItem.state)
            ).all()
        )
        approvals = connection.scalar(
            select(func.count())
            .select_from(ChangeApproval)
            .where(ChangeApproval.change_request_id == request.id)
        )
    return RequestStatus(
        request_id,
        request.change_type,
        request.state,
        request.requested_by,
        approvals,
        request.approvals_required,
        counts,
        request.priority,
    )


def audit_trail(engine: Engine, request_id: str) -> list[str]:
    with engine.connect() as connection:
        _request(connection, request_id)
        rows = connection.execute(
            select(AuditLog).where(AuditLog.request_id == request_id).order_by(AuditLog.at, AuditLog.id)
        ).all()
    return [
        f"{row.at:%Y-%m-%d %H:%M:%S} {row.actor} {row.action} {row.entity_type} {row.entity_id}: "
        f"{row.before} -> {row.after}"
        for row in rows
    ]


__all__ = [
    "ChangeError",
    "Problem",
    "RejectedFile",
    "approve",
    "audit_trail",
    "checked_file",
    "create_request",
    "rollback_request",
    "status",
    "submit_file",
    "submit_rows",
]


def submit_rows(
    engine: Engine,
    change_type: str,
    rows: Sequence[dict[str, str]],
    requested_by: str,
    source: str,
    min_approvals: int = 0,
) -> str:
    """The launchpad's way in: rows as a file's, validated by the same rules (row N = item N)."""
    requested_by = person(requested_by, "requested_by")
    spec = _spec(change_type)
    problems = [
        Problem(source, number, column, "required column is missing")
        for number, row in enumerate(rows, start=1)
        for column in spec.required
        if not row.get(column)
    ]
    if not rows:
        problems.append(Problem(source, 0, "items", "no items given"))
    if problems:
        raise RejectedFile(problems)
    parsed = [
        Row(number, {k: str(v).strip() for k, v in row.items() if v is not None})
        for number, row in enumerate(rows, 1)
    ]
    valid, problems = validate(engine, spec, parsed, source, requested_by)
    if problems:
        raise RejectedFile(sorted(problems, key=lambda p: (p.row, p.field)))
    return _store(engine, change_type, valid, requested_by, source, min_approvals)


def rollback_request(engine: Engine, request_id: str, requested_by: str) -> str:
    """A new Change Carrier Rate Plan request taking each completed item's device back to the plan
    it had before; filed through the same validation (and approvals) as any other request."""
    with engine.connect() as connection:
        request = _request(connection, request_id)
        if request.change_type != "change_carrier_rate_plan":
            raise ChangeError(f"only rate plan requests roll back; {request_id} is {request.change_type}")
        items = connection.execute(
            select(Device.iccid, ChangeItem.previous_values)
            .join(Device, Device.id == ChangeItem.device_id)
            .where(ChangeItem.change_request_id == request.id, ChangeItem.state == "completed")
            .order_by(ChangeItem.row_number)
        ).all()
    rows = [
        {"iccid": item.iccid, "rate_plan": item.previous_values["rate_plan"]}
        for item in items
        if (item.previous_values or {}).get("rate_plan")
    ]
    if not rows:
        raise ChangeError(f"request {request_id} has no completed item to roll back")
    return submit_rows(engine, request.change_type, rows, requested_by, f"rollback of {request_id}")
