"""Queueing Change Carrier Rate Plan requests for the bulk change engine (rows it picks up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, insert

from amop_pipelines.db.models import AuditLog, ChangeItem, ChangeRequest
from amop_pipelines.planning.automation import batches

CHANGE_CARRIER_RATE_PLAN = "change_carrier_rate_plan"


def queue_rate_plan_changes(
    engine: Engine,
    provider_id: int,
    changes: Sequence[tuple[int, str, str, str | None]],  # (device id, iccid, new plan, previous plan)
    requested_by: str,
    source: str,
) -> list[str]:
    """One pending request per batch of at most 250 devices; returns their request ids.

    All in one transaction, with an audit row per request: either every batch is queued or none.
    """
    request_ids = []
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for batch in batches(list(changes)):
            request = connection.execute(
                insert(ChangeRequest)
                .values(
                    change_type=CHANGE_CARRIER_RATE_PLAN,
                    service_provider_id=provider_id,
                    requested_by=requested_by,
                    state="pending",
                    source=source,
                    created_at=now,
                    updated_at=now,
                )
                .returning(ChangeRequest.id, ChangeRequest.request_id)
            ).one()
            connection.execute(
                insert(ChangeItem),
                [
                    {
                        "change_request_id": request.id,
                        "row_number": row,
                        "iccid": iccid,
                        "device_id": device_id,
                        "parameters": {"rate_plan": plan},
                        "previous_values": {"rate_plan": previous},
                        "state": "pending",
                        "idempotency_key": f"{request.request_id}:{row}",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for row, (device_id, iccid, plan, previous) in enumerate(batch, start=1)
                ],
            )
            connection.execute(
                insert(AuditLog).values(
                    at=now,
                    actor=requested_by,
                    entity_type="change_request",
                    entity_id=request.request_id,
                    request_id=request.request_id,
                    action="created",
                    before=None,
                    after={"change_type": CHANGE_CARRIER_RATE_PLAN, "items": len(batch), "source": source},
                )
            )
            request_ids.append(request.request_id)
    return request_ids
