"""The sync on its own: one provider's billing month read from the carrier into AMOP's tables."""

import dagster as dg

from amop_pipelines.defs.sync.assets import sync_assets

sync_job = dg.define_asset_job(
    "sync_job",
    selection=sync_assets,
    description="Sync one provider's devices, usage and rate plans from the carrier, without optimizing.",
)

defs = dg.Definitions(jobs=[sync_job])
