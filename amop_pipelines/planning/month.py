"""A provider's billing month made ready for optimization, and what its optimization found: the
values the optimization assets hand each other, and the work before the first of them.

Plain dataclasses, no Dagster: the assets in `defs/optimization/assets.py` load, call these, store
and report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines import clock
from amop_pipelines.db.models import Customer, OptimizationCustomerProcessing, ServiceProvider
from amop_pipelines.planning.inputs import LoadedMonth, load_month_and_to_date
from amop_pipelines.planning.runs import GroupPlan, MonthRun, Part, plan_groups
from amop_pipelines.planning.store import session_for_run, store_groups
from amop_pipelines.sync.periods import ensure_billing_period, provider_period


@dataclass
class MonthInputs:
    session_id: int
    instance_id: int
    group_ids: dict[int, int]
    provider_name: str
    billing_month: str
    month: LoadedMonth  # projected usage
    month_to_date: LoadedMonth  # cycle-to-date usage
    plan: GroupPlan
    customer: str | None = None  # a customer optimization's customer (external id)
    legacy_sequences: int = 100
    parts: int = 4
    milp_seconds: float | None = None  # a key's MILP's time limit; None: the default; 0: no MILP

    def group_table(self) -> list[tuple[str, int, int, str]]:
        """(group, rate plans, devices, status) per comm-plan group, for the operator."""
        counts = np.bincount(self.plan.group_of_device, minlength=len(self.plan.groups))
        return [
            (g.name, len(g.plans), int(counts[g.index]), self.plan.skipped.get(g.index, "optimized"))
            for g in self.plan.groups
        ]


@dataclass
class MonthOutcome:
    inputs: MonthInputs
    run: MonthRun
    queues: dict[tuple[int, str], int]  # (group, "exact" | "legacy") -> queue id of that method's best
    seconds: float

    def plan_changes(self) -> list[tuple[int, str, str, str | None]]:
        """(device id, ICCID, new plan, current plan) of every device whose winning plan differs."""
        month = self.inputs.month
        chosen, current = self.run.chosen_assignment, month.problem.devices.current
        codes = month.problem.plans.codes
        return [
            (
                int(month.device_ids[i]),
                month.problem.devices.iccids[i],
                codes[chosen[i]],
                codes[current[i]] if current[i] >= 0 else None,
            )
            for i in np.flatnonzero(chosen != current)
        ]


@dataclass
class PartWork:
    part: Part
    legacy_sequences: int
    milp_seconds: float | None = None


def customer_row(engine: Engine, external_id: str | None) -> int | None:
    """The customer's row id for a customer optimization (None for the whole account)."""
    if external_id is None:
        return None
    with Session(engine) as session:
        found = session.scalar(select(Customer.id).where(Customer.external_id == external_id))
    if found is None:
        raise ValueError(f"unknown customer '{external_id}' (config customer)")
    return found


def prepare_month(
    engine: Engine,
    provider: ServiceProvider,
    month_key: str,
    run_id: str,
    session_guid: str | None,
    *,
    project_usage: bool = True,
    customer: str | None = None,
    legacy_sequences: int = 100,
    parts: int = 4,
    milp_seconds: float | None = None,
) -> MonthInputs:
    """The month's devices and plans loaded (projected and to date), its session opened, its
    comm-plan groups stored; groups that cannot be optimized are in `plan.skipped`."""
    period = provider_period(provider, month_key)
    with Session(engine) as session, session.begin():
        billing_period = ensure_billing_period(session, provider, period)
        session.expunge(billing_period)
    customer_id = customer_row(engine, customer)
    session_id = session_for_run(engine, run_id, provider.id, billing_period.id, session_guid, customer_id)
    as_of = min(clock.now(), period.ends_at)
    scope = {"pool_by_customer": customer is not None, "customer": customer}
    month, to_date = load_month_and_to_date(
        engine, provider.id, billing_period, period, as_of, project_usage, **scope
    )
    if customer_id is not None:
        with Session(engine) as session, session.begin():
            session.add(OptimizationCustomerProcessing(session_id=session_id, customer_id=customer_id))
    plan = plan_groups(month)
    stored = store_groups(
        engine, session_id, provider.id, month.problem, plan.groups, plan.group_of_device, plan.skipped
    )
    return MonthInputs(
        session_id,
        stored.instance_id,
        stored.group_ids,
        provider.name,
        month_key,
        month,
        to_date,
        plan,
        customer,
        legacy_sequences,
        parts,
        milp_seconds,
    )
