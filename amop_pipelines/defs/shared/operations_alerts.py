"""Operations alerts, one mail per episode: the sensor reads the conditions of
`operations_alerts.py` every few minutes, keeps the open episodes in its cursor, and launches one
alert run for each episode that begins (its run key names the episode, so no tick repeats it)."""

import json
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from amop_pipelines import settings
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.operations_alerts import current_conditions


class AlertConfig(dg.Config):
    subject: str = Field(description="What happened, naming the account.")
    body: str = Field(description="Details and what to check.")
    recipients: str = Field(default="", description="The account's recipients; empty: the default ones.")


@dg.op
def send_operations_alert(config: AlertConfig, amop_db: AmopDatabase, notifier: Notifier) -> None:
    notifier.send(amop_db.engine, "alert", config.subject, config.body, recipients=config.recipients or None)


@dg.job(description="Mails one operations alert (launched by operations_alert_sensor, once per episode).")
def operations_alert_job() -> None:
    send_operations_alert()


def current_time() -> datetime:
    """The sensor's clock (tests replace it)."""
    return datetime.now(UTC)


@dg.sensor(
    job=operations_alert_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches every account for carrier timeouts, refused credentials or an open circuit on its "
        "change items, change requests unfinished past AMOP_BACKLOG_ALERT_MINUTES and callbacks "
        "overdue in bulk; launches operations_alert_job once when such an episode begins."
    ),
)
def operations_alert_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    now = current_time()
    conditions = current_conditions(amop_db.engine, now, settings.get(settings.BACKLOG_ALERT_ENV))
    open_before: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    still_open = {c.key: open_before.get(c.key, now.isoformat()) for c in conditions}
    run_requests = [
        dg.RunRequest(
            run_key=f"alert:{c.key}:{still_open[c.key]}",  # one per episode
            run_config={
                "ops": {
                    "send_operations_alert": {
                        "config": {"subject": c.subject, "body": c.body, "recipients": c.recipients or ""}
                    }
                }
            },
            tags={"amop/alert": c.key},
        )
        for c in conditions
        if c.key not in open_before
    ]
    ended = sorted(set(open_before) - set(still_open))
    if ended:
        context.log.info(f"episodes ended: {', '.join(ended)}")
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=json.dumps(still_open, sort_keys=True),
        skip_reason=None if run_requests else f"{len(still_open)} episodes open, none new",
    )


defs = dg.Definitions(jobs=[operations_alert_job], sensors=[operations_alert_sensor])
