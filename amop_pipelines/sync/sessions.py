"""Optimization session progress (the seeds' milestones), reported by whichever step reaches it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, update

from amop_pipelines.db.models import OptimizationSession

INITIATED, SYNC_STARTED, DEVICES_SYNCED = 0, 20, 30
QUEUES_CREATED, CALCULATIONS_DONE, RESULTS_DELIVERED = 40, 50, 100


def report_progress(engine: Engine, run_id: str, progress: int, status: str | None = None) -> int:
    """Advance the session this Dagster run belongs to (never backwards); returns rows touched."""
    values: dict = {"progress": progress}
    if status:
        values["status"] = status
        if status in ("succeeded", "failed"):
            values["finished_at"] = datetime.now(UTC)
    with engine.begin() as connection:
        return connection.execute(
            update(OptimizationSession)
            .where(OptimizationSession.dagster_run_id == run_id, OptimizationSession.progress <= progress)
            .values(values)
        ).rowcount
