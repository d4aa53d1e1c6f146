"""What launches change runs: pending requests, due effective dates, newly arrived callbacks.
Sensors decide and request runs; the runs write."""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amop_pipelines.db.models import CarrierCallback, ChangeItem, ChangeRequest
from amop_pipelines.defs.changes.jobs import change_request_job, reconcile_callbacks_job
from amop_pipelines.defs.shared.database import AmopDatabase


def _round_request(request_id: str, rounds: int) -> dg.RunRequest:
    """The run key names the request and its round: one run per round, however often ticks see it."""
    return dg.RunRequest(
        run_key=request_id if rounds == 0 else f"{request_id}:round-{rounds + 1}",
        run_config={"ops": {"start_change_round": {"config": {"request_id": request_id}}}},
        tags={"amop/change-request": request_id},
    )


def _orphaned(instance: dg.DagsterInstance, request_id: str) -> bool:
    """A request left running by a run that ended without settling it (failed, canceled, or its
    worker found dead by run monitoring): the next round finishes what is left."""
    runs = instance.get_runs(dg.RunsFilter(tags={"amop/change-request": request_id}), limit=1)
    return bool(runs) and runs[0].is_finished


@dg.sensor(job=change_request_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def change_requests_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    """A run for each pending request (approved and new, or with items ready for their next step),
    and for each request whose last run ended while it was still running."""
    with Session(amop_db.engine) as session:
        requests = session.execute(
            select(ChangeRequest.request_id, ChangeRequest.rounds, ChangeRequest.state)
            .where(ChangeRequest.state.in_(("pending", "running")))
            .order_by(ChangeRequest.id)
        ).all()
    return dg.SensorResult(
        run_requests=[
            _round_request(r.request_id, r.rounds)
            for r in requests
            if r.state == "pending" or _orphaned(context.instance, r.request_id)
        ]
    )


@dg.sensor(
    job=change_request_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING
)
def effective_dates_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    """A run for each request with scheduled items whose effective date has come."""
    with Session(amop_db.engine) as session:
        due = session.execute(
            select(ChangeRequest.request_id, ChangeRequest.rounds)
            .where(
                ChangeRequest.state == "scheduled",
                select(ChangeItem.id)
                .where(
                    ChangeItem.change_request_id == ChangeRequest.id,
                    ChangeItem.state == "scheduled",
                    ChangeItem.next_attempt_at <= datetime.now(UTC),
                )
                .exists(),
            )
            .order_by(ChangeRequest.id)
        ).all()
    if not due:
        return dg.SensorResult(skip_reason="no scheduled change is due")
    return dg.SensorResult(run_requests=[_round_request(r.request_id, r.rounds) for r in due])


@dg.sensor(
    job=reconcile_callbacks_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def callback_reconciliation_sensor(
    context: dg.SensorEvaluationContext, amop_db: AmopDatabase
) -> dg.SensorResult:
    """A reconciliation run when new callbacks arrived (the cursor is the last callback seen), or
    every ten minutes while items wait for theirs."""
    with Session(amop_db.engine) as session:
        newest = session.scalar(select(func.max(CarrierCallback.id))) or 0
        waiting = session.scalar(
            select(func.count()).select_from(ChangeItem).where(ChangeItem.state == "awaiting_callback")
        )
    seen = int(context.cursor or 0)
    if newest > seen:
        key = f"callbacks-{newest}"
    elif waiting:
        key = f"overdue-{datetime.now(UTC):%Y%m%d%H}{datetime.now(UTC).minute // 10}"
    else:
        return dg.SensorResult(skip_reason="no callbacks and no items waiting", cursor=str(newest))
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=key)], cursor=str(newest))


defs = dg.Definitions(
    sensors=[change_requests_sensor, effective_dates_sensor, callback_reconciliation_sensor]
)
