"""Sync assets: the carrier's devices, usage and rate plans into the AMOP database, per provider
and billing month. The steps that call the carrier take turns within a run (`CARRIER_CALLS`), so
that a run keeps to its account's rate limit."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from amop_pipelines import clock
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.defs.shared.carriers import CARRIER_CALLS, CarrierClients
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import markdown_table, provider_of
from amop_pipelines.defs.shared.partitions import provider_months
from amop_pipelines.planning.store import session_for_run
from amop_pipelines.sync import sessions
from amop_pipelines.sync.callback_inbox import StoredCallbacks
from amop_pipelines.sync.freshness import mark_devices_synced, recently_synced
from amop_pipelines.sync.periods import billing_period_id, provider_period
from amop_pipelines.sync.providers import live_device_count
from amop_pipelines.sync.rate_plans import sync_rate_plans
from amop_pipelines.sync.resumable import stage_device_pages
from amop_pipelines.sync.staging import (
    StagingReport,
    devices_for_usage,
    stage_devices,
    stage_usage,
    staged_preview,
)
from amop_pipelines.sync.upsert import upsert_devices, upsert_usage
from amop_pipelines.sync.usage_periods import UsageNotHeld, usage_period

SESSION_TAG = "amop/session"
GROUP = "sync"


class DeviceSyncConfig(dg.Config):
    full_sync: bool = Field(
        default=False, description="Every device, not just those changed in the last `modified_since_days`."
    )
    modified_since_days: int = Field(
        default=30, ge=1, le=3650, description="How far back an incremental sync looks."
    )
    freshness_hours: float = Field(
        default=6.0,
        ge=0,
        le=24 * 31,
        description="A sync this recent, in this billing cycle, is not repeated.",
    )


@dg.asset(
    partitions_def=provider_months,
    group_name=GROUP,
    op_tags=CARRIER_CALLS,
    kinds={"api", "sql"},
    output_required=False,  # a sync split by its page limit materializes in the run that finishes it
)
def device_staging(
    context: dg.AssetExecutionContext,
    config: DeviceSyncConfig,
    amop_db: AmopDatabase,
    carriers: CarrierClients,
) -> Iterator[dg.MaterializeResult]:
    """The provider's devices as the carrier reports them, duplicates by ICCID dropped.

    Jasper: devices modified in the last 30 days (or all, with `full_sync`), page by page with its
    progress recorded: a killed or failed sync continues where it stopped, and with the account's
    `max_pages_per_run` setting a large account is read over several runs (the later steps run
    with the one that finishes). ThingSpace: the whole list by cursor. Skipped when the provider
    synced within `freshness_hours` of this cycle.
    """
    started = time.perf_counter()
    guid = context.run.tags.get(SESSION_TAG)
    if guid:  # first thing, so that even a failure below is recorded against the session
        sessions.attach_run(amop_db.engine, guid, context.run.run_id)
    provider, month = provider_of(amop_db, context)
    period_id = billing_period_id(amop_db.engine, provider, month)
    # a run started by hand (not by the window sensor) gets its session here
    session_for_run(amop_db.engine, context.run.run_id, provider.id, period_id, guid)
    known = live_device_count(amop_db.engine, provider.id)
    for milestone in (sessions.INITIATED, sessions.SYNC_STARTED):
        sessions.report_progress(amop_db.engine, context.run.run_id, milestone, "running", known)
    last = provider.last_device_sync_at
    if not config.full_sync and recently_synced(
        provider, provider_period(provider, month), config.freshness_hours
    ):
        context.log.info(f"{provider.name} synced at {last:%Y-%m-%d %H:%M} UTC: staging kept")
        yield dg.MaterializeResult(metadata={"skipped": True, "last_sync": last.isoformat()})
        return
    client = carriers.for_provider(provider)
    since = None if config.full_sync else datetime.now(UTC) - timedelta(days=config.modified_since_days)
    paging: dict = {}
    try:
        if hasattr(client, "iter_device_pages"):  # a paged carrier: resumable
            limit = (provider.carrier_settings or {}).get("max_pages_per_run")
            paged = stage_device_pages(
                amop_db.engine, provider.id, client.iter_device_pages, since, int(limit) if limit else None
            )
            report = StagingReport(paged.rows, paged.duplicates_dropped)
            paging = {"resumed_from_page": paged.resumed_from or "-", "complete": paged.complete}
            if not paged.complete:
                context.log.info(
                    f"{provider.name}: page limit of {limit} reached; {paged.rows} devices staged so far, "
                    f"the next run continues from page {paged.next_page}"
                )
                return
        else:
            report = stage_devices(amop_db.engine, provider.id, client.iter_devices(since))
    finally:
        client.close()
    skipped = list(getattr(client, "skipped", []))
    if skipped:
        context.log.warning(f"{len(skipped)} devices without an ICCID skipped: {'; '.join(skipped[:20])}")
    preview = staged_preview(amop_db.engine, provider.id)
    yield dg.MaterializeResult(
        metadata={
            **paging,
            "rows": report.rows,
            "duplicates_dropped": report.duplicates_dropped,
            "skipped_without_iccid": len(skipped),
            "skipped_examples": "; ".join(skipped[:20]) or "-",
            "pages_read": getattr(client, "pages_read", 0),
            "full_sync": config.full_sync,
            "seconds": round(time.perf_counter() - started, 2),
            "preview": dg.MetadataValue.md(
                markdown_table(["iccid", "status", "rate plan", "comm plan"], preview)
            ),
        }
    )


@dg.asset(
    partitions_def=provider_months,
    group_name=GROUP,
    op_tags=CARRIER_CALLS,
    deps=[device_staging],
    kinds={"api", "sql"},
)
def usage_staging(
    context: dg.AssetExecutionContext, amop_db: AmopDatabase, carriers: CarrierClients
) -> dg.MaterializeResult:
    """Usage (data MB, SMS) of every device of the provider in the partition's billing period:
    cycle to date while it runs; a closed period from the carrier's history (Control Center by
    the cycle's first day, ThingSpace by the period's window). A month the carrier no longer
    holds, or one not begun, fails with the reason and stores nothing. ThingSpace answers bulk
    reads by `DeviceUsage` callbacks, read from what the callback receiver stored."""
    started = time.perf_counter()
    provider, month = provider_of(amop_db, context)
    try:
        period = usage_period(provider, month, carrier_kind(provider.integration), clock.now())
    except UsageNotHeld as refused:
        raise dg.Failure(
            description=f"{refused} Nothing was stored for {month}.",
            metadata={"billing_month": month, "refused": str(refused)},
            allow_retries=False,
        ) from None
    period_id = billing_period_id(amop_db.engine, provider, month)
    devices = devices_for_usage(amop_db.engine, provider.id)
    client = carriers.for_provider(provider, inbox=StoredCallbacks(amop_db.engine))
    try:  # read before the staging transaction opens: the callback receiver must be able to
        # store the DeviceUsage callbacks this waits for (SQLite has one writer)
        usage = list(client.iter_usage(devices, period))
    finally:
        client.close()
    report = stage_usage(amop_db.engine, provider.id, period_id, usage, period_closed=period.closed)
    return dg.MaterializeResult(
        metadata={
            "rows": report.rows,
            "duplicates_dropped": report.duplicates_dropped,
            "pages_read": getattr(client, "pages_read", 0),
            "billing_month": month,
            "period": "closed: the carrier's history" if period.closed else "open: cycle to date",
            "window": f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC",
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


@dg.asset(partitions_def=provider_months, group_name=GROUP, deps=[device_staging], kinds={"sql"})
def devices(context: dg.AssetExecutionContext, amop_db: AmopDatabase) -> dg.MaterializeResult:
    """Staged devices upserted into the device table in one transaction; invalid rows kept out."""
    started = time.perf_counter()
    provider, _ = provider_of(amop_db, context)
    report = upsert_devices(amop_db.engine, provider.id)
    mark_devices_synced(amop_db.engine, provider.id)
    synced = report.inserted + report.updated + report.unchanged
    sessions.report_progress(amop_db.engine, context.run.run_id, sessions.DEVICES_SYNCED, devices=synced)
    if report.rejected:
        context.log.warning(f"{len(report.rejected)} staged devices rejected, e.g. {report.rejected[0]}")
    return dg.MaterializeResult(
        metadata={
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
            "rejected_rows": dg.MetadataValue.md(markdown_table(["iccid", "why"], report.rejected)),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


@dg.asset(partitions_def=provider_months, group_name=GROUP, deps=[usage_staging, devices], kinds={"sql"})
def device_usage(context: dg.AssetExecutionContext, amop_db: AmopDatabase) -> dg.MaterializeResult:
    """Usage per device for the billing period (replacing the period's earlier figures); usage
    read after the period closed is the month's final usage (`final`), which realized_savings
    prices."""
    provider, month = provider_of(amop_db, context)
    report = upsert_usage(amop_db.engine, provider.id, billing_period_id(amop_db.engine, provider, month))
    return dg.MaterializeResult(
        metadata={
            "rows": report.rows,
            "unknown_devices": report.unknown_devices,
            "billing_month": month,
            "final": report.final,
        }
    )


@dg.asset(partitions_def=provider_months, group_name=GROUP, op_tags=CARRIER_CALLS, kinds={"api", "sql"})
def carrier_rate_plans(
    context: dg.AssetExecutionContext, amop_db: AmopDatabase, carriers: CarrierClients
) -> dg.MaterializeResult:
    """The carrier's rate plan catalog: plans new at the carrier are added unpriced (carriers
    publish no prices); they are never recommended until an operator prices them."""
    provider, _ = provider_of(amop_db, context)
    client = carriers.for_provider(provider)
    try:
        report = sync_rate_plans(amop_db.engine, provider.id, client.rate_plans())
    finally:
        client.close()
    return dg.MaterializeResult(
        metadata={
            "plans": report.plans,
            "added_unpriced": ", ".join(report.added) or "-",
            "unpriced": ", ".join(report.unpriced) or "-",
        }
    )


sync_assets = [device_staging, usage_staging, devices, device_usage, carrier_rate_plans]

defs = dg.Definitions(assets=sync_assets)
