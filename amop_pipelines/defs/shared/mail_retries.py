"""Mail that could not be sent is tried again: a sensor watches for failed notifications whose
pause is over and launches a job that sends them (the mail server being down never fails the
runs that wanted to mail)."""

import hashlib

import dagster as dg

from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.notify.mail import due_for_resend


@dg.op
def resend_failed_mail(context: dg.OpExecutionContext, amop_db: AmopDatabase, notifier: Notifier) -> None:
    resent = notifier.resend_due(amop_db.engine)
    context.log.info(
        f"{resent.delivered} sent, {resent.failed} failed again"
        + (f" ({resent.given_up} for the last time: undeliverable)" if resent.given_up else "")
    )


@dg.job(description="Sends again the notifications that failed earlier and whose pause is over.")
def resend_mail_job() -> None:
    resend_failed_mail()


@dg.sensor(
    job=resend_mail_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches the notification table for mail that failed (mail server down, refused) and "
        "whose pause is over (5 minutes, doubling per attempt); launches resend_mail_job."
    ),
)
def failed_mail_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    due = due_for_resend(amop_db.engine)
    if not due:
        return dg.SensorResult(skip_reason="no failed mail is due")
    # the same mails at the same attempt launch one run however often the sensor ticks
    key = hashlib.sha256(repr(due).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"resend-{key}")])


defs = dg.Definitions(jobs=[resend_mail_job], sensors=[failed_mail_sensor])
