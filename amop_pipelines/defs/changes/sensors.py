"""What launches change runs: pending requests, due effective dates, newly arrived callbacks.
Sensors decide and request runs; the runs write."""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amop_pipelines.db.models import CarrierCallback, ChangeItem, ChangeRequest, ServiceProvider
from amop_pipelines.defs.changes.jobs import change_request_job, reconcile_callbacks_job
from amop_pipelines.defs.shared.carriers import ACCOUNT_TAG
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.sync.providers import provider_key

CHANGE_REQUEST_TAG = "amop/change-request"
PRIORITY_TAG = "dagster/priority"  # the run queue dequeues higher values first
MAX_FAILED_RUNS = 3  # runs of one request that may fail in a row before it waits for an operator


def _round_request(
    request_id: str, rounds: int, failed_runs: int, account: str | None, priority: int = 0
) -> dg.RunRequest:
    """The run key names the request, its round and the runs that failed before: one run per round
    however often ticks see it, and a new one after a run failed (even before its round started).
    The request's priority becomes the run's `dagster/priority`: the run queue dequeues by it."""
    key = request_id if rounds == 0 else f"{request_id}:round-{rounds + 1}"
    return dg.RunRequest(
        run_key=key + (f":after-{failed_runs}-failed" if failed_runs else ""),
        run_config={"ops": {"start_change_round": {"config": {"request_id": request_id}}}},
        tags={CHANGE_REQUEST_TAG: request_id, PRIORITY_TAG: str(priority)}
        | ({ACCOUNT_TAG: account} if account else {}),
    )


def _runs(instance: dg.DagsterInstance, request_id: str) -> tuple[bool, int]:
    """(a run of the request is queued or going, how many of its runs failed since one succeeded)."""
    # newest first; a run still going is the newest, and only the failures in a row count
    runs = instance.get_runs(dg.RunsFilter(tags={CHANGE_REQUEST_TAG: request_id}), limit=MAX_FAILED_RUNS + 1)
    going = any(not run.is_finished for run in runs)
    failed = 0
    for run in runs:  # newest first
        if run.status == dg.DagsterRunStatus.SUCCESS:
            break
        if run.is_finished:
            failed += 1
    return going, failed


@dg.sensor(
    job=change_request_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches change requests: launches change_request_job for each pending one (approved, or "
        "with items ready for their next step), in priority order, and again for one whose run "
        "failed (held after 3 failed runs in a row)."
    ),
)
def change_requests_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    """A run for each pending request (approved and new, or with items ready for their next step),
    in priority order (pushes before billing close first),
    for each request whose last run ended while it was still running, and again for a request
    whose run failed (up to MAX_FAILED_RUNS in a row; the failure alert says so each time)."""
    with Session(amop_db.engine) as session:
        requests = session.execute(
            select(
                ChangeRequest.request_id,
                ChangeRequest.rounds,
                ChangeRequest.state,
                ChangeRequest.priority,
                ServiceProvider.name,
            )
            .outerjoin(ServiceProvider, ServiceProvider.id == ChangeRequest.service_provider_id)
            .where(ChangeRequest.state.in_(("pending", "running")))
            .order_by(ChangeRequest.priority.desc(), ChangeRequest.id)  # what goes first, first
        ).all()
    run_requests, held = [], []
    for request in requests:
        going, failed = _runs(context.instance, request.request_id)
        if going or (request.state == "running" and failed == 0):
            continue  # its run is on it (a running request without a failed run has a live one)
        if failed >= MAX_FAILED_RUNS:
            held.append(request.request_id)
            continue
        account = provider_key(request.name) if request.name else None
        run_requests.append(
            _round_request(request.request_id, request.rounds, failed, account, request.priority)
        )
    skip = f"held after {MAX_FAILED_RUNS} failed runs: {', '.join(held)}" if held else None
    return dg.SensorResult(run_requests=run_requests, skip_reason=None if run_requests else skip)


@dg.sensor(
    description=(
        "Watches scheduled customer plan changes: launches change_request_job for a request once "
        "the effective date of one of its items has come."
    ),
    job=change_request_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
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
    # customer plans change AMOP's records only: no carrier account to take turns on
    return dg.SensorResult(run_requests=[_round_request(r.request_id, r.rounds, 0, None) for r in due])


@dg.sensor(
    description=(
        "Watches the stored carrier callbacks: launches reconcile_callbacks_job when new ones "
        "arrive, or every ten minutes while items wait for theirs."
    ),
    job=reconcile_callbacks_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
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
