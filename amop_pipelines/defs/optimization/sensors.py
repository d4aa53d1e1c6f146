"""`optimization_window_sensor`: the billing-close schedule of every active provider.

Schedules cannot follow each provider's own zone and cycle, so a sensor ticks every minute and
asks `amop_pipelines.window` whether a provider's slot has come. Run keys make repeated ticks
start one run per slot; the slot's session GUID (derived from the run key) rides on the run as a
tag, and the run opens the session.
"""

from datetime import datetime

import dagster as dg

from amop_pipelines import clock
from amop_pipelines.defs.optimization.jobs import optimization_job
from amop_pipelines.defs.shared.carriers import ACCOUNT_TAG
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.sync.assets import SESSION_TAG
from amop_pipelines.sync import sessions
from amop_pipelines.sync.providers import active_providers, provider_key
from amop_pipelines.window import may_start, window_slot

PROVIDER_TAG = "amop/provider"
LOCK_TAG = "amop/session-lock"  # limited to one run per value by dagster.yaml's run queue
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def current_time() -> datetime:
    """The sensor's clock (tests replace it)."""
    return clock.now()


@dg.sensor(
    job=optimization_job,
    minimum_interval_seconds=60,
    description=(
        "Watches each active provider's billing close: in its optimization window (from the "
        "account's start hour on the days before close, hourly on the last day) it launches "
        "optimization_job for the provider's month, one per slot (run key: provider, month, slot)."
    ),
)
def optimization_window_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    """Requests each provider's optimization run (sync, then optimization) when its slot comes."""
    now = current_time()
    requests, skipped = [], []
    for provider in active_providers(amop_db.engine):
        key = provider_key(provider.name)
        slot = window_slot(
            now,
            key,
            provider.billing_cycle_end_day,
            provider.billing_cycle_end_hour,
            provider.time_zone,
            provider.optimization_start_hour,
        )
        if slot is None:
            continue
        busy = bool(
            context.instance.get_run_records(
                dg.RunsFilter(tags={PROVIDER_TAG: key}, statuses=ACTIVE), limit=1
            )
        )
        if not may_start(slot, busy):
            skipped.append(f"{key}: a session is running")
            continue
        # The session is the run's to open (device_staging does, under this guid): a sensor
        # decides and requests, and writes nothing.
        tags = {PROVIDER_TAG: key, ACCOUNT_TAG: key, SESSION_TAG: sessions.session_guid(slot.run_key)}
        if not slot.final_day:
            tags[LOCK_TAG] = key
        requests.append(
            dg.RunRequest(
                run_key=slot.run_key,
                partition_key=dg.MultiPartitionKey(
                    {"provider": key, "billing_month": f"{slot.billing_month}-01"}
                ),
                tags=tags,
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        skip_reason="; ".join(skipped) or "no provider is in its optimization window"
        if not requests
        else None,
        cursor=now.isoformat(),
    )


defs = dg.Definitions(sensors=[optimization_window_sensor])
