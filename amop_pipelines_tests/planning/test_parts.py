"""A month optimized in parts (the optimization job's steps, on any executor) is exactly the month
optimized in one pass."""

import numpy as np
import pytest

from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.planning.inputs import load_month
from amop_pipelines.planning.runs import assemble, optimize_part, plan_groups, split_parts
from amop_pipelines_tests.planning.months import provider_month


def _month(engine, integration: str, pool_by_customer: bool = False):
    provider, billing_period, period = provider_month(engine, integration)
    month = load_month(
        engine, provider.id, billing_period, period, period.ends_at, False, pool_by_customer=pool_by_customer
    )
    return month, plan_groups(month)


def run_month(month, plan, legacy_sequences: int, parts: int = 1):
    """The month in this process, in `parts` parts (the job runs them as steps)."""
    results = [optimize_part(part, legacy_sequences) for part in split_parts(month, plan, parts)]
    return assemble(month, month, plan, results)


def _fingerprint(run):
    return (
        run.exact_assignment.tolist(),
        run.legacy_assignment.tolist(),
        run.exact.total_cents,
        run.exact.lower_bound_cents,
        run.winner,
        run.after.total_cents,
        [(c.pool_key, c.group, c.strategy, c.sequence, c.cents) for c in run.legacy.candidates],
        [(w.pool_key, w.group, w.sequence) for w in run.legacy.winners],
    )


@pytest.mark.parametrize(("integration", "pool_by_customer"), [("thingspace", False), ("jasper", True)])
def test_any_number_of_parts_gives_the_one_pass_result(sqlite_engine, integration, pool_by_customer):
    seed_demo(sqlite_engine, devices=1200)
    month, plan = _month(sqlite_engine, integration, pool_by_customer)
    one_pass = run_month(month, plan, legacy_sequences=30)
    parts = split_parts(month, plan, 3)
    assert len(parts) == 3 and all(part.devices for part in parts)
    assert sum(part.devices for part in parts) == len(plan.optimized_rows)
    for count in (2, 50):
        assert _fingerprint(run_month(month, plan, 30, parts=count)) == _fingerprint(one_pass)
    # what the parts found is what the cost engine says of the whole month
    assert assignment_cost(month.problem, one_pass.exact_assignment).total_cents == one_pass.after.total_cents


def test_groups_sharing_a_pooled_plan_stay_together(sqlite_engine):
    seed_demo(sqlite_engine, devices=1200)
    month, plan = _month(sqlite_engine, "jasper")  # one shared pool: its M2M groups share pooled plans
    parts = split_parts(month, plan, 4)
    assert len(parts) == 1 and parts[0].devices == len(plan.optimized_rows)
    month, plan = _month(sqlite_engine, "thingspace")  # M2M, phones and tablets share no plan
    groups_of = [
        {plan.groups[g].name for g in np.unique(plan.group_of_device[plan.optimized_rows[rows]])}
        for part in split_parts(month, plan, 4)
        for rows in part.sets
    ]
    assert sorted(len(names) for names in groups_of) == [1, 1, 1]


def test_parts_must_be_at_least_one(sqlite_engine):
    seed_demo(sqlite_engine, devices=100)
    month, plan = _month(sqlite_engine, "thingspace")
    with pytest.raises(ValueError, match="parts must be at least 1, not 0"):
        split_parts(month, plan, 0)
