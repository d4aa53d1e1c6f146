import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from amop_pipelines.optimization.cost import assignment_cost, cents_to_decimal
from amop_pipelines.optimization.inputs import read_problem

from .instances import random_problem
from .reference import reference_cost


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), devices=st.integers(1, 40), plans=st.integers(1, 6))
def test_engine_cost_equals_a_plain_per_pool_reference(seed, devices, plans):
    problem = random_problem(seed, devices, plans, keys=3)
    rng = np.random.default_rng(seed)
    allowed = problem.devices.allowed()
    assignment = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
    breakdown = assignment_cost(problem, assignment)
    assert breakdown.total == reference_cost(problem, assignment)
    assert cents_to_decimal(breakdown.total_cents) == breakdown.total
    # per-device shares add up to the total (reports show them next to the pools)
    assert (
        abs(breakdown.device_cents.sum() - breakdown.total_cents) < 1e-6 * max(1, breakdown.total_cents) + 1
    )


def test_a_pool_cost_is_rounded_half_up_to_cents(tmp_path):
    (tmp_path / "plans.csv").write_text(
        "plan_code,monthly_charge,allowance_mb,overage_rate,overage_unit_mb,sms_rate,pooled,comm_plans\n"
        "HALF,0.025,10,0.10,1,0,false,CP\n"
    )
    (tmp_path / "devices.csv").write_text("iccid,comm_plan,usage_mb\n8901000000000000001,CP,2\n")
    problem = read_problem(tmp_path / "devices.csv", tmp_path / "plans.csv", 30)
    assert assignment_cost(problem, np.zeros(1, dtype=np.int64)).total_cents == 3  # 2.5 cents, half-up


def test_block_overage_counts_every_started_block_and_prorates_allowance(tmp_path):
    (tmp_path / "plans.csv").write_text(
        "plan_code,monthly_charge,allowance_mb,overage_rate,overage_unit_mb,sms_rate,pooled,comm_plans\n"
        "BLOCK,3.00,10,2.00,10,0.05,true,CP\n"
    )
    (tmp_path / "devices.csv").write_text(
        "iccid,comm_plan,usage_mb,sms_count,days_active\n"
        "8901000000000000001,CP,9,2,\n"  # whole cycle: 10 MB allowance
        "8901000000000000002,CP,6,0,15\n"  # half the cycle: 5 MB allowance, half the charge
    )
    problem = read_problem(tmp_path / "devices.csv", tmp_path / "plans.csv", 30)
    # one shared pool: base 1.5 * 3.00 = 4.50; allowance 15 MB, usage 15 MB -> no overage; SMS 0.10
    assert assignment_cost(problem, np.zeros(2, dtype=np.int64)).total_cents == 460
    problem.devices.usage[1] += 1  # 16 MB: 1 MB over starts one 10 MB block at 2.00
    assert assignment_cost(problem, np.zeros(2, dtype=np.int64)).total_cents == 660
