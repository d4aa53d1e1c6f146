"""Service provider (dynamic, registered by a sensor) x billing month (the month the period ends)."""

import warnings

import dagster as dg

# The checks are partitioned like their assets, so that each looks at its partition only. Dagster
# 1.13 calls a partitioned check "preview"; the note would be printed on every load of the code
# location (the CLI, the webserver, each run), so it is said once here instead.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

providers = dg.DynamicPartitionsDefinition(name="service_provider")
# Monthly keys ("2026-12-01"); two months ahead, since a period that closes on the 18th of next
# month is already running.
billing_months = dg.MonthlyPartitionsDefinition(start_date="2025-01-01", end_offset=2)
provider_months = dg.MultiPartitionsDefinition({"provider": providers, "billing_month": billing_months})


def partition_parts(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, str]:
    """(provider key, billing month "YYYY-MM") of the run's partition."""
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    return keys["provider"], keys["billing_month"][:7]
