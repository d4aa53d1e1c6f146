"""When any run of the code location fails (a job, a materialization launched from an asset page,
a change round): an error notification naming the failing steps, and the failure recorded where
the run belongs (an optimization session; a change request's audit trail)."""

import dagster as dg

from amop_pipelines.changes.requests import record_failed_run
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.sync import sessions

CHANGE_REQUEST_TAG = "amop/change-request"


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, not the framework's wrapping of it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description=(
        "Watches every run of the code location: when one fails, marks its optimization session "
        "failed or notes it in its change request's audit trail, and mails the failing steps."
    ),
)
def failure_alert_sensor(
    context: dg.RunFailureSensorContext, amop_db: AmopDatabase, notifier: Notifier
) -> None:
    """Every job of the code location: records the failure and mails the failing steps."""
    run = context.dagster_run
    steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    error = context.failure_event.message or "the run failed"
    details = [
        f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if event.event_specific_data is not None and event.event_specific_data.error is not None
    ]
    why = "\n".join(details) or error
    sessions.fail_session(amop_db.engine, run.run_id, why)
    request_id = run.tags.get(CHANGE_REQUEST_TAG)
    if request_id:
        record_failed_run(amop_db.engine, request_id, run.run_id, why)
    partition = run.tags.get("dagster/partition", "-")
    body = "\n".join(
        [
            f"Run {run.run_id} of {run.job_name} failed.",
            f"Partition: {partition}",
            *(
                [f"Change request: {request_id} (its next round is launched by change_requests_sensor)"]
                if request_id
                else []
            ),
            f"Failing steps: {', '.join(steps) or '-'}",
            "",
            *(details or [error]),
        ]
    )
    subject = f"AMOP {run.job_name} failed ({request_id or partition})"
    notifier.send(amop_db.engine, "error", subject, body)


defs = dg.Definitions(sensors=[failure_alert_sensor])
