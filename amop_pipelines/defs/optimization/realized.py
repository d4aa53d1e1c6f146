"""realized_savings: what a month's optimization actually saved, priced after the period closed on
its final usage (`planning.realized`), with the job that syncs the closed month and prices it,
and the sensor that launches that job a day after each provider's close."""

import dagster as dg
from pydantic import Field

from amop_pipelines import clock
from amop_pipelines.defs.optimization.assets import GROUP, winning_results
from amop_pipelines.defs.optimization.sensors import PROVIDER_TAG
from amop_pipelines.defs.shared.carriers import ACCOUNT_TAG
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import markdown_table, money_metadata, provider_of
from amop_pipelines.defs.shared.partitions import provider_months
from amop_pipelines.defs.sync.assets import device_usage, devices, sync_assets
from amop_pipelines.planning.realized import NotReady, month_to_price, realized_month, store_realized
from amop_pipelines.sync.providers import active_providers, provider_key


class RealizedConfig(dg.Config):
    milp_seconds: float | None = Field(
        default=None,
        ge=0,
        le=600,
        description="The hindsight optimum's MILP limit per small pool key, as comm_plan_groups' "
        "(unset: the default safety net; 0: the Lagrangian answer alone).",
    )


@dg.asset(
    partitions_def=provider_months,
    group_name=GROUP,
    deps=[device_usage, devices, winning_results],
    kinds={"sql"},
)
def realized_savings(
    context: dg.AssetExecutionContext, config: RealizedConfig, amop_db: AmopDatabase
) -> dg.MaterializeResult:
    """The closed month on its final usage, priced on the plans before the optimization, on the
    plans the devices had at close, and on the hindsight optimum: realized savings, what was left
    on the table, and how far the projection was from the final usage. Fails, storing nothing,
    until the month's final usage is synced (the sync after close: device_usage `final`)."""
    provider, month = provider_of(amop_db, context)
    try:
        realized = realized_month(amop_db.engine, provider, month, config.milp_seconds)
    except NotReady as why:
        raise dg.Failure(description=str(why), allow_retries=False) from None
    store_realized(amop_db.engine, realized)
    totals = realized.totals
    errors = [
        (o.iccid, o.plan_before, o.plan_actual, o.projected_mb, o.actual_mb, o.error_mb)
        for o in realized.largest_errors()
    ]
    return dg.MaterializeResult(
        metadata={
            # numbers, so that the UI plots them across months; exact cents are in the database
            **money_metadata(
                cost_before=totals.cost_before,
                cost_at_close=totals.cost_actual,
                cost_hindsight=totals.cost_hindsight,
                realized_savings=totals.realized_savings,
                left_on_table=totals.left_on_table,
            ),
            "currency": realized.currency,
            "devices": totals.devices,
            "devices_changed": totals.devices_changed,
            "devices_left_out": realized.devices_left_out,
            "projected_mb": float(totals.projected_mb),
            "actual_mb": float(totals.actual_mb),
            "absolute_error_mb": float(realized.absolute_error_mb),
            **(
                {"projection_error_percent": round(totals.projection_error * 100, 2)}
                if totals.projection_error is not None
                else {}
            ),
            "largest_projection_errors": dg.MetadataValue.md(
                markdown_table(
                    ["ICCID", "plan before", "plan at close", "projected MB", "actual MB", "error MB"],
                    errors,
                    20,
                )
            ),
        }
    )


realized_savings_job = dg.define_asset_job(
    "realized_savings_job",
    selection=dg.AssetSelection.assets(*sync_assets, realized_savings),
    description=(
        "One provider's closed billing month: sync its final usage and the plans the devices had "
        "at close, then price the month three ways (realized_savings). Launched by "
        "realized_savings_sensor a day after close."
    ),
)


@dg.sensor(
    job=realized_savings_job,
    minimum_interval_seconds=3600,
    description=(
        "Watches each active provider's last closed month: a day after close (when the carrier's "
        "final usage has settled), if an optimization chose winners for it and it is not priced "
        "yet, launches realized_savings_job for it (one run a day until it succeeds)."
    ),
)
def realized_savings_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    now = clock.now()
    requests = []
    for provider in active_providers(amop_db.engine):
        month = month_to_price(amop_db.engine, provider, now)
        if month is None:
            continue
        key = provider_key(provider.name)
        requests.append(
            dg.RunRequest(
                run_key=f"realized|{key}|{month}|{now:%Y-%m-%d}",
                partition_key=dg.MultiPartitionKey({"provider": key, "billing_month": f"{month}-01"}),
                # the devices as they are now, after close, whenever the last sync ran
                run_config={"ops": {"device_staging": {"config": {"freshness_hours": 0}}}},
                tags={PROVIDER_TAG: key, ACCOUNT_TAG: key},
            )
        )
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else "no closed month is waiting to be priced",
        cursor=now.isoformat(),
    )


defs = dg.Definitions(
    assets=[realized_savings], jobs=[realized_savings_job], sensors=[realized_savings_sensor]
)
