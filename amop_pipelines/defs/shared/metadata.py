"""Small helpers the asset modules share: the run's provider, money as plottable numbers, markdown
tables for the UI."""

from decimal import Decimal

import dagster as dg
from sqlalchemy.orm import Session

from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.partitions import partition_parts
from amop_pipelines.sync.providers import find_provider


def money_metadata(**amounts: Decimal | None) -> dict[str, float]:
    """Amounts as numbers, which the UI plots across partitions; an unknown one (None) is left out."""
    return {name: float(value) for name, value in amounts.items() if value is not None}


def markdown_table(header: list[str], rows: list[tuple], limit: int = 10) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit:,} more")
    return "\n".join(lines)


def provider_of(
    amop_db: AmopDatabase, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext
) -> tuple[ServiceProvider, str]:
    """The run's service provider (detached) and billing month ("YYYY-MM")."""
    key, month = partition_parts(context)
    with Session(amop_db.engine) as session:
        provider = find_provider(session, key)
        session.expunge(provider)
    return provider, month
