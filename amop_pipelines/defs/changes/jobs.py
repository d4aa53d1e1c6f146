"""Change request runs: a round of a request's items in batches (launched by the sensors in
`sensors.py`), the reconciliation of carrier callbacks, and the callbacks' registration at the
carriers. A finished request sends a summary."""

from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from amop_pipelines.changes.callbacks import reconcile, register_receiver
from amop_pipelines.changes.executor import ExecutionReport, run_items, start_round, summarize
from amop_pipelines.changes.states import ITEM_FAILURES
from amop_pipelines.changes.summaries import summary_for
from amop_pipelines.defs.changes.resources import CallbackReceiver
from amop_pipelines.defs.shared.carriers import CARRIER_CALLS, CarrierClients
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import markdown_table
from amop_pipelines.defs.shared.notifier import Notifier


class ChangeRunConfig(dg.Config):
    request_id: str = Field(description="The change request to run a round of.")
    max_attempts: int = Field(
        default=5, ge=1, le=50, description="Carrier attempts per item before it is dead."
    )
    batch_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Items per step: the executor may run a round's batches on other processes or "
        "Celery workers.",
    )


@dataclass(frozen=True)
class ItemBatch:
    request_id: str
    number: int
    item_ids: list[int]
    max_attempts: int


def notify_finished(notifier: Notifier, engine, report: ExecutionReport) -> dict[str, str]:
    """The request's summary mail (or its filing group's, once the last request finished).
    Returns the cost figures, for metadata."""
    summary = summary_for(engine, report.request_id)
    if summary is None:
        return {}
    notifier.send(engine, "summary", summary.subject, summary.body)
    return summary.costs


def _counts(report: ExecutionReport) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(report.counts.items()))


@dg.op(out=dg.DynamicOut(ItemBatch))
def start_change_round(config: ChangeRunConfig, amop_db: AmopDatabase):
    """Starts the request's round and hands its unsettled items out in batches, a step each."""
    item_ids = start_round(amop_db.engine, config.request_id)
    for number, start in enumerate(range(0, max(len(item_ids), 1), config.batch_size)):
        batch = ItemBatch(
            config.request_id, number, item_ids[start : start + config.batch_size], config.max_attempts
        )
        yield dg.DynamicOutput(batch, mapping_key=f"batch_{number}")


@dg.op(tags=CARRIER_CALLS)
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
    metadata = {
        **{state: count for state, count in report.counts.items()},
        **costs,
        "items_run": sum(len(batch.item_ids) for batch in ran),
        "batches": len(ran),
        "failures": dg.MetadataValue.md(markdown_table(["iccid", "why"], report.failures, 50)),
    }
    unsettled = sum(report.counts.get(state, 0) for state in ITEM_FAILURES)
    if report.finished and unsettled:  # the run shows red, with the outcome beside it
        raise dg.Failure(
            description=f"request {report.request_id}: {unsettled} items failed ({_counts(report)}); "
            "`amop changes retry` runs them again",
            metadata=metadata,
        )
    return dg.Output(report.state, metadata=metadata)


@dg.job(tags={"amop/kind": "change"})
def change_request_job() -> None:
    """One round of a change request: its items in batches, then its state and summary."""
    finish_change_round(start_change_round().map(execute_change_batch).collect())


@dg.op(tags=CARRIER_CALLS)
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


@dg.job(
    tags={"amop/kind": "change"},
    description=(
        "Settles the items awaiting carrier callbacks from the stored callbacks, and checks on the "
        "carrier the items that waited too long. Launched by callback_reconciliation_sensor."
    ),
)
def reconcile_callbacks_job() -> None:
    reconcile_carrier_callbacks()


class CallbackRegistration(dg.Config):
    url: str  # the receiver's public URL (`amop callbacks serve`, reachable by the carrier)
    provider: str = ""  # a service provider's name; empty: every active one


@dg.op
def register_carrier_callbacks(
    config: CallbackRegistration,
    amop_db: AmopDatabase,
    carriers: CarrierClients,
    callback_receiver: CallbackReceiver,
) -> dg.Output[int]:
    """Point each account's carrier callbacks (ThingSpace: CarrierService, DeviceUsage) at AMOP."""
    registered = register_receiver(
        amop_db.engine,
        carriers.for_provider,
        config.url,
        callback_receiver.secret,
        config.provider or None,
        callback_receiver.username,
    )
    rows = [(name, ", ".join(services) or "none (answers at once)") for name, services in registered.items()]
    return dg.Output(
        sum(len(services) for services in registered.values()),
        metadata={
            "url": config.url,
            "registered": dg.MetadataValue.md(markdown_table(["provider", "services"], rows)),
        },
    )


@dg.job(
    tags={"amop/kind": "setup"},
    description="Points a ThingSpace account's callbacks at AMOP's receiver (launch it from the launchpad).",
)
def register_callbacks_job() -> None:
    register_carrier_callbacks()


defs = dg.Definitions(jobs=[change_request_job, reconcile_callbacks_job, register_callbacks_job])
