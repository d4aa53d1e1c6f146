"""Optimization session progress (the seeds' milestones), reported by whichever step reaches it."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, select, update

from amop_pipelines.db.models import OptimizationSession
from amop_pipelines.settings import progress_webhook_url

log = logging.getLogger("amop.sessions")

INITIATED, SYNC_STARTED, DEVICES_SYNCED = 0, 20, 30
QUEUES_CREATED, CALCULATIONS_DONE, RESULTS_DELIVERED = 40, 50, 100


def report_progress(
    engine: Engine, run_id: str, progress: int, status: str | None = None, devices: int | None = None
) -> int:
    """Advance the session this Dagster run belongs to (never backwards); returns rows touched.

    With AMOP_PROGRESS_WEBHOOK_URL set, the milestone is also posted there (the seeds' AMOP 2.0
    progress API): `{"sessionGuid", "progress", "status", "devices"}`, 0% included. `devices` is
    how many devices the milestone covers (known before the sync, synced, optimized, stored,
    reported). A webhook that fails is logged, never fatal: the database row is the record.
    """
    values: dict = {"progress": progress}
    if devices is not None:
        values["devices"] = devices
    if status:
        values["status"] = status
        if status in ("succeeded", "failed"):
            values["finished_at"] = datetime.now(UTC)
    with engine.begin() as connection:
        touched = connection.execute(
            update(OptimizationSession)
            .where(OptimizationSession.dagster_run_id == run_id, OptimizationSession.progress <= progress)
            .values(values)
        ).rowcount
        rows = connection.execute(
            select(
                OptimizationSession.session_guid, OptimizationSession.status, OptimizationSession.devices
            ).where(OptimizationSession.dagster_run_id == run_id)
        ).all()
    url = progress_webhook_url()
    if url and touched:
        for guid, current, count in rows:
            _post(url, {"sessionGuid": guid, "progress": progress, "status": current, "devices": count})
    return touched


def _post(url: str, body: dict) -> None:
    try:
        httpx.post(url, json=body, timeout=5.0).raise_for_status()
    except httpx.HTTPError as error:
        log.warning(
            "progress webhook did not take session %s at %s%%: %s",
            body["sessionGuid"],
            body["progress"],
            error,
        )


def session_guid(run_key: str) -> str:
    """The same session for every tick that asks for the same run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"amop:{run_key}"))


def attach_run(engine: Engine, guid: str, run_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(OptimizationSession)
            .where(OptimizationSession.session_guid == guid)
            .values(dagster_run_id=run_id)
        )


def fail_session(engine: Engine, run_id: str, error: str) -> int:
    with engine.begin() as connection:
        return connection.execute(
            update(OptimizationSession)
            .where(OptimizationSession.dagster_run_id == run_id)
            .values(status="failed", error=error[:4000], finished_at=datetime.now(UTC))
        ).rowcount
