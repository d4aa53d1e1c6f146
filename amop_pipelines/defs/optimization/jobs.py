"""The month job: the sync, then the optimization, of one provider's billing month."""

import dagster as dg

from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.sync.assets import sync_assets

# What the optimization window sensor launches: the sync, then the optimization, of one partition.
optimization_job = dg.define_asset_job(
    "optimization_job",
    selection=dg.AssetSelection.assets(*sync_assets, *optimization_assets),
    description=(
        "One provider's billing month: sync devices, usage and plans from the carrier, then optimize "
        "(groups, queues, winners, the report and its mail, Go / No Go). Launched by "
        "optimization_window_sensor before close; backfill it by partition."
    ),
)

defs = dg.Definitions(jobs=[optimization_job])
