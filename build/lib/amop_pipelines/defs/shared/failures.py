"""When a sync or optimization run fails: the session marked failed, and an error notification."""

import dagster as dg

from amop_pipelines.defs.optimization.jobs import optimization_job
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.sync.jobs import sync_job
from amop_pipelines.sync import sessions


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, not the framework's wrapping of it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(
    monitored_jobs=[sync_job, optimization_job], default_status=dg.DefaultSensorStatus.RUNNING
)
def session_failure_sensor(
    context: dg.RunFailureSensorContext, amop_db: AmopDatabase, notifier: Notifier
) -> None:
    """Records the failure against the run's session and mails the failing steps."""
    run = context.dagster_run
    steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    error = context.failure_event.message or "the run failed"
    details = [
        f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if event.event_specific_data is not None and event.event_specific_data.error is not None
    ]
    sessions.fail_session(amop_db.engine, run.run_id, "\n".join(details) or error)
    partition = run.tags.get("dagster/partition", "-")
    body = "\n".join(
        [
            f"Run {run.run_id} of {run.job_name} failed.",
            f"Partition: {partition}",
            f"Failing steps: {', '.join(steps) or '-'}",
            "",
            *(details or [error]),
        ]
    )
    notifier.send(amop_db.engine, "error", f"AMOP {run.job_name} failed ({partition})", body)


defs = dg.Definitions(sensors=[session_failure_sensor])
