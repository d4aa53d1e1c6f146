"""A provider's month from the database as an optimization problem, on projected usage."""

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from amop_pipelines.db.models import CarrierRatePlan
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.optimization.exact import exact_optimize
from amop_pipelines.planning.inputs import load_month, load_month_and_to_date
from amop_pipelines_tests.planning.months import provider_month


def test_a_device_halfway_through_its_cycle_is_costed_on_its_projection(sqlite_engine):
    seed_demo(sqlite_engine, devices=1500)
    provider, billing_period, period = provider_month(sqlite_engine, "jasper")
    halfway = period.starts_at + (period.ends_at - period.starts_at) / 2
    month = load_month(sqlite_engine, provider.id, billing_period, period, as_of=halfway)
    d = month.problem.devices
    whole_cycle = np.flatnonzero(d.days == period.days)
    assert len(whole_cycle) > 0
    expected = np.rint(month.ctd_mb[whole_cycle] * 2 * 1e6)
    assert np.allclose(d.usage[whole_cycle], expected, atol=2)  # micro-MB: twice the usage so far
    current = assignment_cost(month.problem, d.current.astype(np.int64)).total_cents
    as_of_now = load_month(sqlite_engine, provider.id, billing_period, period, as_of=halfway, project=False)
    assert current > assignment_cost(as_of_now.problem, d.current.astype(np.int64)).total_cents

    result = exact_optimize(month.problem)
    assert result.total_cents <= current
    allowed = d.allowed()
    assert allowed[np.arange(len(d)), result.assignment].all()


def test_one_read_gives_the_projected_month_and_the_month_to_date(sqlite_engine):
    seed_demo(sqlite_engine, devices=600)
    provider, billing_period, period = provider_month(sqlite_engine, "thingspace")
    halfway = period.starts_at + (period.ends_at - period.starts_at) / 2
    projected, to_date = load_month_and_to_date(sqlite_engine, provider.id, billing_period, period, halfway)
    alone = load_month(sqlite_engine, provider.id, billing_period, period, as_of=halfway, project=False)
    assert np.array_equal(to_date.problem.devices.usage, alone.problem.devices.usage)
    assert np.array_equal(to_date.problem.devices.current, alone.problem.devices.current)
    assert not np.array_equal(projected.problem.devices.usage, to_date.problem.devices.usage)
    assert np.array_equal(projected.device_ids, to_date.device_ids)


@pytest.mark.parametrize("column", ["overage_rate", "overage_unit_mb"])
def test_invalid_plans_are_left_out_and_named(sqlite_engine, column):
    """A plan whose overage rate or overage unit is not above zero cannot be costed."""
    seed_demo(sqlite_engine, devices=300)
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.update(CarrierRatePlan).where(CarrierRatePlan.plan_code == "J-PAYG").values({column: 0})
        )
    provider, billing_period, period = provider_month(sqlite_engine, "jasper")
    month = load_month(
        sqlite_engine, provider.id, billing_period, period, as_of=period.ends_at - timedelta(days=2)
    )
    assert month.invalid_plans == ["J-PAYG"]
    assert "J-PAYG" not in month.problem.plans.codes
    assert len(month.problem.devices) == len(month.device_ids) > 0
