"""Running the partitioned assets of one provider's billing month in-process.

`amop demo`, the benchmarks and the tests launch runs the same way: register the provider as a
partition, pick the month, materialize with explicit resources.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from amop_pipelines.billing import period_containing
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.shared.partitions import providers
from amop_pipelines.sync.providers import provider_key


def current_billing_month(provider: ServiceProvider, now: datetime | None = None) -> str:
    """The billing month ("YYYY-MM") of the provider's period running at `now`."""
    return period_containing(
        now or datetime.now(UTC),
        provider.billing_cycle_end_day,
        provider.billing_cycle_end_hour,
        provider.time_zone,
    ).billing_month


def month_partition(provider: ServiceProvider, billing_month: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey(
        {"provider": provider_key(provider.name), "billing_month": f"{billing_month}-01"}
    )


def partition_tags(partition: dg.MultiPartitionKey) -> dict[str, str]:
    """The run tags that make a launched run one partition's (as the UI and sensors tag it)."""
    return {
        "dagster/partition": str(partition),
        **{f"dagster/partition/{name}": key for name, key in partition.keys_by_dimension.items()},
    }


def materialize_month(
    assets: Sequence[Any],
    provider: ServiceProvider,
    instance: dg.DagsterInstance,
    resources: Mapping[str, Any],
    billing_month: str | None = None,
    run_config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` for the provider's month (its current one by default)."""
    instance.add_dynamic_partitions(providers.name, [provider_key(provider.name)])
    return dg.materialize(
        assets,
        partition_key=month_partition(provider, billing_month or current_billing_month(provider)),
        instance=instance,
        resources=dict(resources),
        run_config=dict(run_config or {}),
        **kwargs,
    )
