"""The demo fleet is deterministic and looks like a real IoT fleet."""

import polars as pl

from amop_pipelines.demo.catalog import COMM_PLANS, PLANS
from amop_pipelines.demo.fleet import generate_devices
from amop_pipelines.identifiers import iccid_problem, imei_problem


def test_same_seed_same_fleet_other_seed_other_fleet():
    assert generate_devices(3000, seed=11).equals(generate_devices(3000, seed=11))
    assert not generate_devices(3000, seed=11).equals(generate_devices(3000, seed=12))


def test_a_larger_fleet_of_the_same_seed_starts_with_the_same_sims():
    small = set(generate_devices(1000, seed=5)["iccid"])
    large = set(generate_devices(4000, seed=5)["iccid"])
    assert small <= large


def test_identifiers_are_valid_and_unique():
    fleet = generate_devices(20_000)
    for column in ("iccid", "imei", "msisdn"):
        assert fleet[column].n_unique() == fleet.height, column
    assert all(iccid_problem(v) is None for v in fleet["iccid"])
    assert all(imei_problem(v) is None for v in fleet["imei"])


def test_usage_has_idle_sims_a_body_and_a_heavy_tail():
    fleet = generate_devices(20_000)
    usage = fleet["data_mb"]
    idle_share = (usage < 0.5).mean()
    assert 0.2 < idle_share < 0.45
    assert usage.quantile(0.99) > 20 * usage.median()
    mid_cycle = fleet.filter(pl.col("active_fraction") < 1).height / fleet.height
    assert 0.05 < mid_cycle < 0.12


def test_current_plans_are_allowed_for_the_comm_plan_and_group():
    fleet = generate_devices(10_000)
    allowed = {c.name: set(c.plans) for comms in COMM_PLANS.values() for c in comms}
    groups = {p.plan_code: p.optimization_group for plans in PLANS.values() for p in plans}
    for comm, plan, group in fleet.select("comm_plan", "current_plan", "optimization_group").iter_rows():
        assert plan in allowed[comm]
        assert groups[plan] == group


def test_catalog_covers_the_rules_optimization_must_handle():
    plans = [p for specs in PLANS.values() for p in specs]
    assert len(plans) >= 10
    assert any(p.pooled for p in plans) and any(not p.pooled for p in plans)
    assert any(p.overage_unit_mb != "1" for p in plans)  # block overage
    assert any(len(c.plans) > 15 for comms in COMM_PLANS.values() for c in comms)
    assert any(p.plan_type == "Mobility" for p in plans)
