"""Checks on the optimization's assets."""

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amop_pipelines.db.models import (
    BillingPeriod,
    OptimizationCommGroup,
    OptimizationInstance,
    OptimizationSession,
)
from amop_pipelines.defs.optimization.assets import comm_plan_groups
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import provider_of
from amop_pipelines.defs.shared.partitions import provider_months
from amop_pipelines.optimization.groups import MAX_PLANS_PER_GROUP


@dg.asset_check(
    asset=comm_plan_groups,
    partitions_def=provider_months,
    description=(
        "Every comm group allows at most its kind's number of rate plans "
        f"({', '.join(f'{kind} {n}' for kind, n in MAX_PLANS_PER_GROUP.items())})."
    ),
)
def comm_groups_within_plan_limit(
    context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase
) -> dg.AssetCheckResult:
    """Looks at the latest optimization instance of the partition's provider and billing month."""
    provider, month = provider_of(amop_db, context)
    with Session(amop_db.engine) as session:
        latest = (
            select(func.max(OptimizationInstance.id))
            .join(OptimizationSession, OptimizationSession.id == OptimizationInstance.session_id)
            .join(BillingPeriod, BillingPeriod.id == OptimizationSession.billing_period_id)
            .where(
                OptimizationSession.service_provider_id == provider.id,
                BillingPeriod.billing_month == month,
            )
        )
        over = session.scalars(
            select(OptimizationCommGroup.name).where(
                OptimizationCommGroup.instance_id.in_(latest),
                OptimizationCommGroup.skipped_reason.is_not(None),
            )
        ).all()
    return dg.AssetCheckResult(
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"not optimized, over their plan limit: {', '.join(over)}" if over else None,
        metadata={"groups_over_limit": ", ".join(over) or "-"},
    )


defs = dg.Definitions(asset_checks=[comm_groups_within_plan_limit])
