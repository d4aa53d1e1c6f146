"""An optimization session's rows: instance, comm groups, queues, device and pool results.

Money written here is exact: pool and total costs are integer cents from the cost engine;
per-device costs are the engine's reporting shares rounded to cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
from sqlalchemy import Engine, delete, insert, select, update

from amop_pipelines.db.bulk import insert_frame
from amop_pipelines.db.models import (
    OptimizationCommGroup,
    OptimizationCommGroupCommPlan,
    OptimizationCommGroupRatePlan,
    OptimizationDeviceResult,
    OptimizationInstance,
    OptimizationMobilityDeviceResult,
    OptimizationSession,
    OptimizationSharedPoolResult,
)
from amop_pipelines.db.queries import communication_plan_ids, rate_plan_ids
from amop_pipelines.optimization.cost import PoolCost, cents_to_decimal
from amop_pipelines.optimization.groups import CommGroup
from amop_pipelines.optimization.problem import Problem
from amop_pipelines.sync.sessions import session_guid


def _money(cents: np.ndarray) -> pl.Series:
    """Cent shares as money: rounded to whole cents half to even (as Python's round), exact."""
    whole = pl.Series(np.rint(cents).astype(np.int64))
    return (whole.cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(14, 2))


def _megabytes(values: np.ndarray) -> pl.Series:
    """MB to the column's six decimals (a byte)."""
    return pl.Series(np.asarray(values, dtype=np.float64)).cast(pl.Decimal(18, 6))


def session_for_run(
    engine: Engine,
    run_id: str,
    provider_id: int,
    period_id: int,
    guid: str | None,
    customer_id: int | None = None,
) -> int:
    """The run's session (opened by the window sensor, or made now for a run started by hand)."""
    guid = guid or session_guid(f"run|{run_id}")
    with engine.begin() as connection:
        found = connection.scalar(
            select(OptimizationSession.id).where(OptimizationSession.session_guid == guid)
        )
        if found is None:
            found = connection.execute(
                insert(OptimizationSession).values(
                    session_guid=guid,
                    service_provider_id=provider_id,
                    billing_period_id=period_id,
                    status="running",
                    progress=0,
                    started_at=datetime.now(UTC),
                    dagster_run_id=run_id,
                    customer_id=customer_id,
                )
            ).inserted_primary_key[0]
        else:
            connection.execute(
                update(OptimizationSession)
                .where(OptimizationSession.id == found)
                .values(dagster_run_id=run_id, **({"customer_id": customer_id} if customer_id else {}))
            )
    return int(found)


@dataclass(frozen=True)
class StoredGroups:
    instance_id: int
    group_ids: dict[int, int]  # engine group index -> optimization_comm_group.id


def store_groups(
    engine: Engine,
    session_id: int,
    provider_id: int,
    problem: Problem,
    groups: list[CommGroup],
    group_of_device: np.ndarray,
    skipped: dict[int, str],
) -> StoredGroups:
    """A fresh instance for the session with its comm groups (earlier instances of a re-run go)."""
    with engine.begin() as connection:
        connection.execute(delete(OptimizationInstance).where(OptimizationInstance.session_id == session_id))
        instance_id = connection.execute(
            insert(OptimizationInstance).values(
                session_id=session_id,
                status="running",
                device_count=len(problem.devices),
                started_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
        plan_ids = rate_plan_ids(connection, provider_id)
        comm_ids = communication_plan_ids(connection, provider_id)
        group_ids = {}
        counts = np.bincount(group_of_device, minlength=len(groups))
        for group in groups:
            group_id = connection.execute(
                insert(OptimizationCommGroup).values(
                    instance_id=instance_id,
                    name=group.name,
                    rate_plan_count=len(group.plans),
                    device_count=int(counts[group.index]),
                    skipped_reason=skipped.get(group.index),
                )
            ).inserted_primary_key[0]
            group_ids[group.index] = group_id
            connection.execute(
                insert(OptimizationCommGroupCommPlan),
                [{"comm_group_id": group_id, "communication_plan_id": comm_ids[c]} for c in group.comm_plans],
            )
            connection.execute(
                insert(OptimizationCommGroupRatePlan),
                [
                    {"comm_group_id": group_id, "carrier_rate_plan_id": plan_ids[problem.plans.codes[p]]}
                    for p in group.plans
                ],
            )
    return StoredGroups(instance_id, group_ids)


def store_results(
    engine: Engine,
    problem: Problem,
    device_ids: np.ndarray,
    plan_ids: dict[str, int],
    queue_of_device: np.ndarray,
    ctd_mb: np.ndarray,
    projected_mb: np.ndarray,
    before_cents: np.ndarray | None,
    after_cents: np.ndarray,
    assignment: np.ndarray,
    pool_queue: int,
    pools: list[PoolCost],
) -> None:
    """Device results (M2M and Mobility tables) and the shared pools of one assignment, built
    column by column (a million devices: a million rows, no Python object per value)."""
    d, p = problem.devices, problem.plans
    ids = np.array([plan_ids[code] for code in p.codes], dtype=np.int64)
    current = d.current.astype(np.int64)
    known = current >= 0
    frame = pl.DataFrame(
        {
            "queue_id": np.asarray(queue_of_device, dtype=np.int64),
            "device_id": np.asarray(device_ids, dtype=np.int64),
            "current_rate_plan_id": ids[np.where(known, current, 0)],
            "recommended_rate_plan_id": ids[np.asarray(assignment, dtype=np.int64)],
            "usage_mb": _megabytes(ctd_mb),
            "projected_usage_mb": _megabytes(projected_mb),
            "sms_count": d.sms.astype(np.int64),
            "current_cost": _money(before_cents if before_cents is not None else np.zeros(len(d))),
            "recommended_cost": _money(after_cents),
        }
    ).with_columns(
        current_rate_plan_id=pl.when(pl.Series(known)).then("current_rate_plan_id"),
        current_cost=pl.when(pl.Series(known & (before_cents is not None))).then("current_cost"),
    )
    mobility = pl.Series(np.array([bool(group) for group in d.groups], dtype=bool)[d.group])
    with engine.begin() as connection:
        insert_frame(connection, OptimizationDeviceResult.__table__, frame.filter(~mobility))
        insert_frame(connection, OptimizationMobilityDeviceResult.__table__, frame.filter(mobility))
        pools = [
            {
                "queue_id": pool_queue,
                "plan_type": "Mobility" if p.groups[p.codes.index(pool.plan)] else "M2M",
                "carrier_rate_plan_id": plan_ids[pool.plan],
                "pool_key": pool.pool_key,
                "device_count": pool.devices,
                "allowance_mb": pool.allowance_mb,
                "usage_mb": pool.usage_mb,
                "overage_mb": pool.overage_mb,
                "cost": cents_to_decimal(pool.cents),
            }
            for pool in pools
        ]
        if pools:
            connection.execute(insert(OptimizationSharedPoolResult), pools)
