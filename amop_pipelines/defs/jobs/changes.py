"""Change request runs: a sensor launches a round per pending request (and per due effective
date); callbacks are reconciled by their own job and sensor; finished requests send a summary."""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amop_pipelines.changes.callbacks import reconcile
from amop_pipelines.changes.cost_impact import cost_impact
from amop_pipelines.changes.executor import ExecutionReport, run_items, start_round, summarize
from amop_pipelines.db.models import CarrierCallback, ChangeItem, ChangeRequest
from amop_pipelines.defs.assets.common import markdown_table
from amop_pipelines.defs.assets.sync import CARRIER_POOL
from amop_pipelines.defs.resources.carriers import CarrierClients
from amop_pipelines.defs.resources.database import AmopDatabase
from amop_pipelines.defs.resources.notifier import Notifier


class ChangeRunConfig(dg.Config):
    request_id: str
    max_attempts: int = 5
    # Items per step: the executor may run a round's batches on other processes or Celery workers.
    batch_size: int = 1000


@dataclass(frozen=True)
class ItemBatch:
    request_id: str
    number: int
    item_ids: list[int]
    max_attempts: int


def notify_finished(notifier: Notifier, engine, report: ExecutionReport) -> dict[str, str]:
    """The summary a finished request sends: counts by state, the cost recalculated after rate
    plan changes, and every failure with its reason. Returns the cost figures, for metadata."""
    lines = [f"Change request {report.request_id}: {report.state}.", f"Items: {_counts(report)}."]
    impact = cost_impact(engine, report.request_id)
    if impact is not None:
        lines.append(impact.line().capitalize() + ".")
    lines += [f"{iccid}: {why}" for iccid, why in report.failures]
    notifier.send(
        engine, "summary", f"AMOP change request {report.request_id}: {report.state}", "\n".join(lines)
    )
    if impact is None:
        return {}
    return {
        "cost_before": str(impact.before),
        "cost_after": str(impact.after),
        "cost_change": f"{impact.change:+}",
    }


def _counts(report: ExecutionReport) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(report.counts.items()))


@dg.op(out=dg.DynamicOut(ItemBatch))
def start_change_round(config: ChangeRunConfig, amop_db: AmopDatabase):
    """Starts the request's round and hands its unsettled items out in batches, a step each."""
    if config.batch_size < 1:
        raise ValueError(f"config batch_size must be at least 1, not {config.batch_size}")
    item_ids = start_round(amop_db.engine, config.request_id)
    for number, start in enumerate(range(0, max(len(item_ids), 1), config.batch_size)):
        batch = ItemBatch(
            config.request_id, number, item_ids[start : start + config.batch_size], config.max_attempts
        )
        yield dg.DynamicOutput(batch, mapping_key=f"batch_{number}")


@dg.op(pool=CARRIER_POOL)
def execute_change_batch(
    context: dg.OpExecutionContext, batch: ItemBatch, amop_db: AmopDatabase, carriers: CarrierClients
) -> ItemBatch:
    """A batch's items through the carrier (the carrier pool keeps parallel steps within its limit)."""
    run_items(amop_db.engine, batch.request_id, batch.item_ids, carriers.for_provider, batch.max_attempts)
    context.log.info(f"request {batch.request_id}, batch {batch.number}: {len(batch.item_ids)} items run")
    return batch


@dg.op
def finish_change_round(
    context: dg.OpExecutionContext, amop_db: AmopDatabase, notifier: Notifier, ran: list[ItemBatch]
) -> dg.Output[str]:
    """The request's state from its items; a summary notification once it is finished."""
    report = summarize(amop_db.engine, ran[0].request_id)  # a round always has a batch
    context.log.info(f"request {report.request_id}: {report.state} ({_counts(report)})")
    costs = notify_finished(notifier, amop_db.engine, report) if report.finished else {}
    return dg.Output(
        report.state,
        metadata={
            **{state: count for state, count in report.counts.items()},
            **costs,
            "items_run": sum(len(batch.item_ids) for batch in ran),
            "batches": len(ran),
            "failures": dg.MetadataValue.md(markdown_table(["iccid", "why"], report.failures, 50)),
        },
    )


@dg.job(tags={"amop/kind": "change"})
def change_request_job() -> None:
    """One round of a change request: its items in batches, then its state and summary."""
    finish_change_round(start_change_round().map(execute_change_batch).collect())


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


@dg.op(pool=CARRIER_POOL)
def reconcile_carrier_callbacks(
    amop_db: AmopDatabase, carriers: CarrierClients, notifier: Notifier
) -> dg.Output[int]:
    """Stored callbacks settle their items; items waiting too long are checked on the carrier."""
    outcome = reconcile(amop_db.engine, carriers.for_provider)
    for report in outcome.finished:
        notify_finished(notifier, amop_db.engine, report)
    return dg.Output(
        outcome.completed + outcome.failed,
        metadata={
            "completed": outcome.completed,
            "failed": outcome.failed,
            "duplicates_ignored": outcome.duplicates,
            "unmatched": outcome.unmatched,
            "rechecked_on_carrier": outcome.rechecked,
            "requests_finished": ", ".join(r.request_id for r in outcome.finished) or "none",
        },
    )


@dg.job(tags={"amop/kind": "change"})
def reconcile_callbacks_job() -> None:
    reconcile_carrier_callbacks()


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
    jobs=[change_request_job, reconcile_callbacks_job],
    sensors=[change_requests_sensor, effective_dates_sensor, callback_reconciliation_sensor],
)
