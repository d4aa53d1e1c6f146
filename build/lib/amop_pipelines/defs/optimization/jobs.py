"""The month job: the sync, then the optimization, of one provider's billing month."""

import dagster as dg

from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.sync.assets import sync_assets

# What the optimization window sensor launches: the sync, then the optimization, of one partition.
optimization_job = dg.define_asset_job(
    "optimization_job", selection=dg.AssetSelection.assets(*sync_assets, *optimization_assets)
)

defs = dg.Definitions(jobs=[optimization_job])
