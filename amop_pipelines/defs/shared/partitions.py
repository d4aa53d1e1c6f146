"""Service provider (dynamic, registered by a sensor) x billing month (the month the period ends).

The months start where there is something to see: at the first month any account was synced, or
at the oldest month a carrier still answers usage for (so that it can be backfilled), whichever is
earlier. The code location reads the first synced month from the AMOP database when it loads; a
database it cannot read (none yet, a server down) leaves the carriers' reach alone.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from amop_pipelines import settings
from amop_pipelines.carriers.registry import CARRIERS
from amop_pipelines.sync.periods import first_billing_month

# The checks are partitioned like their assets, so that each looks at its partition only. Dagster
# 1.13 calls a partitioned check "preview"; the note would be printed on every load of the code
# location (the CLI, the webserver, each run), so it is said once here instead.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)


def first_partition_month(this_month: str, first_synced: str | None) -> str:
    """The first billing month ("YYYY-MM") of the partitions, given the calendar month now and the
    first month AMOP holds: the earlier of it and the oldest month any carrier still answers."""
    year, month = (int(part) for part in this_month.split("-"))
    index = year * 12 + month - 1 - max(kind.closed_periods_held for kind in CARRIERS.values())
    reach = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return min(reach, first_synced) if first_synced else reach


def _first_synced_month() -> str | None:
    """The AMOP database's first billing month, without creating a database that is not there."""
    url = settings.database_url() if settings.is_set(settings.DATABASE_URL_ENV) else None
    if url is None or url.startswith("sqlite"):
        path = (
            Path(sa.make_url(url).database or "")
            if url
            else Path(settings.get(settings.DATA_DIR_ENV)).expanduser() / "amop.sqlite3"
        )
        if not path.is_file():
            return None
        engine = sa.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    else:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        return first_billing_month(engine)
    except sa.exc.SQLAlchemyError:  # not migrated yet, or unreachable: the carriers' reach stands
        return None
    finally:
        engine.dispose()


providers = dg.DynamicPartitionsDefinition(name="service_provider")
# Monthly keys ("2026-12-01"); two months ahead, since a period that closes on the 18th of next
# month is already running.
billing_months = dg.MonthlyPartitionsDefinition(
    start_date=first_partition_month(f"{datetime.now(UTC):%Y-%m}", _first_synced_month()) + "-01",
    end_offset=2,
)
provider_months = dg.MultiPartitionsDefinition({"provider": providers, "billing_month": billing_months})


def partition_parts(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, str]:
    """(provider key, billing month "YYYY-MM") of the run's partition."""
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    return keys["provider"], keys["billing_month"][:7]
