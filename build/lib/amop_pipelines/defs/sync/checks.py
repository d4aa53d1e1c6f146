"""Checks of what a sync left in the database; each names what is wrong when it fails.

Each check is partitioned like its asset and looks at its partition's provider only."""

import dagster as dg
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from amop_pipelines.db.models import Device, DeviceStaging
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import provider_of
from amop_pipelines.defs.shared.partitions import provider_months
from amop_pipelines.defs.sync.assets import carrier_rate_plans, device_staging, devices
from amop_pipelines.identifiers import iccid_problem
from amop_pipelines.sync.rate_plans import invalid_rate_plans, unpriced_rate_plans

SHOWN = 20


def _result(problems: list[str], what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        description=f"{len(problems)} {what}: {', '.join(problems[:SHOWN])}" if problems else None,
        metadata={"problems": len(problems), "examples": ", ".join(problems[:SHOWN]) or "-"},
    )


def _provider_id(context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase) -> int:
    return provider_of(amop_db, context)[0].id


@dg.asset_check(asset=device_staging, partitions_def=provider_months, description="No ICCID is staged twice.")
def staged_iccids_unique(
    context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase
) -> dg.AssetCheckResult:
    provider_id = _provider_id(context, amop_db)
    with Session(amop_db.engine) as session:
        repeated = session.scalars(
            select(DeviceStaging.iccid)
            .where(DeviceStaging.service_provider_id == provider_id)
            .group_by(DeviceStaging.iccid)
            .having(func.count() > 1)
        ).all()
    return _result(sorted(repeated), "ICCIDs staged more than once")


@dg.asset_check(
    asset=devices,
    partitions_def=provider_months,
    description="Every device's ICCID is 19-20 digits starting with 89.",
)
def device_iccids_well_formed(
    context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase
) -> dg.AssetCheckResult:
    provider_id = _provider_id(context, amop_db)
    with Session(amop_db.engine) as session:
        iccids = session.scalars(
            select(Device.iccid).where(
                Device.service_provider_id == provider_id, Device.is_archived.is_(False)
            )
        ).all()
    return _result(sorted(i for i in iccids if iccid_problem(i)), "malformed ICCIDs")


@dg.asset_check(
    asset=devices,
    partitions_def=provider_months,
    description="Every device has a known rate plan and communication plan.",
)
def device_plans_known(context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase) -> dg.AssetCheckResult:
    provider_id = _provider_id(context, amop_db)
    with Session(amop_db.engine) as session:
        unknown = session.scalars(
            select(Device.iccid).where(
                Device.service_provider_id == provider_id,
                Device.is_archived.is_(False),
                or_(Device.carrier_rate_plan_id.is_(None), Device.communication_plan_id.is_(None)),
            )
        ).all()
    return _result(sorted(unknown), "devices without a known rate plan or communication plan")


@dg.asset_check(
    asset=carrier_rate_plans,
    partitions_def=provider_months,
    description="Every rate plan can be optimized: overage rate and overage unit above zero.",
)
def rate_plans_valid_for_optimization(
    context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase
) -> dg.AssetCheckResult:
    invalid = invalid_rate_plans(amop_db.engine, _provider_id(context, amop_db))
    return _result(invalid, "rate plans with no overage rate or unit")


@dg.asset_check(
    asset=carrier_rate_plans,
    partitions_def=provider_months,
    description="Every rate plan the carrier lists has the operator's prices (`amop rate-plans import`).",
)
def rate_plans_priced(context: dg.AssetCheckExecutionContext, amop_db: AmopDatabase) -> dg.AssetCheckResult:
    """Unpriced plans are never recommended; this names them so an operator can price them."""
    unpriced = unpriced_rate_plans(amop_db.engine, _provider_id(context, amop_db))
    result = _result(unpriced, "rate plans without a price (never recommended until priced)")
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=result.description,
        metadata=result.metadata,
    )


defs = dg.Definitions(
    asset_checks=[
        staged_iccids_unique,
        device_iccids_well_formed,
        device_plans_known,
        rate_plans_valid_for_optimization,
        rate_plans_priced,
    ]
)
