"""An optimization session's rows: instance, comm groups, queues, device and pool results.

Money written here is exact: pool and total costs are integer cents from the cost engine;
per-device costs are the engine's reporting shares rounded to cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Engine, delete, insert, select, update

from amop_pipelines.db.bulk import insert_rows
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


def _cents(value: float) -> Decimal:
    return (Decimal(str(round(float(value)))) / 100).quantize(Decimal("0.01"))


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
    """Device results (M2M and Mobility tables) and the shared pools of one assignment."""
    d, p = problem.devices, problem.plans
    m2m, mobility = [], []
    for i in range(len(d)):
        current = int(d.current[i])
        row = {
            "queue_id": int(queue_of_device[i]),
            "device_id": int(device_ids[i]),
            "current_rate_plan_id": plan_ids[p.codes[current]] if current >= 0 else None,
            "recommended_rate_plan_id": plan_ids[p.codes[int(assignment[i])]],
            "usage_mb": Decimal(f"{ctd_mb[i]:.6f}"),
            "projected_usage_mb": Decimal(f"{projected_mb[i]:.6f}"),
            "sms_count": int(d.sms[i]),
            "current_cost": _cents(before_cents[i]) if before_cents is not None and current >= 0 else None,
            "recommended_cost": _cents(after_cents[i]),
        }
        if d.groups[d.group[i]]:
            mobility.append(row)
        else:
            m2m.append(row)
    with engine.begin() as connection:
        insert_rows(connection, OptimizationDeviceResult.__table__, m2m)
        insert_rows(connection, OptimizationMobilityDeviceResult.__table__, mobility)
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
