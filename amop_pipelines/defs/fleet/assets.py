"""What the AMOP database holds: the first thing an operator checks after a seed or a sync."""

from __future__ import annotations

from collections import Counter

import dagster as dg

from amop_pipelines.db.queries import fleet_counts
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.sync.assets import devices


@dg.asset(group_name="fleet", kinds={"sql"}, deps=[devices])
def fleet_summary(amop_db: AmopDatabase) -> dg.MaterializeResult:
    """Devices by provider, communication plan and status, so a missing or half sync shows at once.

    Downstream of every account's `devices` (the whole fleet, not one partition): `amop demo` runs
    `fleet_summary_job` after its syncs; after a sync of your own, materialize it (or run the job).
    """
    counts = fleet_counts(amop_db.engine)
    by_provider = Counter()
    for count in counts:
        by_provider[count.provider] += count.devices
    table = "\n".join(
        [
            "| provider | communication plan | status | devices |",
            "|---|---|---|---:|",
            *(f"| {c.provider} | {c.communication_plan} | {c.status} | {c.devices:,} |" for c in counts),
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "devices": dg.MetadataValue.int(sum(by_provider.values())),
            "providers": dg.MetadataValue.int(len(by_provider)),
            **{f"devices: {name}": dg.MetadataValue.int(n) for name, n in sorted(by_provider.items())},
            "preview": dg.MetadataValue.md(table),
        }
    )


fleet_summary_job = dg.define_asset_job(
    "fleet_summary_job",
    selection=[fleet_summary],
    description="Counts the AMOP database's devices by provider, communication plan and status "
    "(the fleet_summary asset), to check a seed or a sync at a glance.",
)

defs = dg.Definitions(assets=[fleet_summary], jobs=[fleet_summary_job])
