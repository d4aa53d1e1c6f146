"""The default method against brute force, the legacy method, and its own lower bound."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.optimization.exact import exact_optimize
from amop_pipelines.optimization.legacy import legacy_optimize

from .instances import random_problem
from .reference import reference_cost


def _assert_allowed(problem, assignment):
    allowed = problem.devices.allowed()
    assert (assignment >= 0).all()
    assert allowed[np.arange(len(assignment)), assignment].all()


def _brute_force_cents(problem) -> int:
    allowed = problem.devices.allowed()
    best = None
    for combo in itertools.product(*(np.flatnonzero(row) for row in allowed)):
        cents = assignment_cost(problem, np.array(combo)).total_cents
        best = cents if best is None else min(best, cents)
    return best


# at most 4^6 assignments to price one by one: 10 devices (a million) could take a quarter hour
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), devices=st.integers(1, 6), plans=st.integers(1, 4))
def test_default_method_equals_the_brute_force_optimum(seed, devices, plans):
    problem = random_problem(seed, devices, plans, keys=2)
    result = exact_optimize(problem)
    _assert_allowed(problem, result.assignment)
    assert result.total_cents == _brute_force_cents(problem)
    assert result.lower_bound_cents <= result.total_cents


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), devices=st.integers(20, 400), plans=st.integers(2, 7))
def test_default_method_is_never_above_legacy_and_its_bound_never_above_its_cost(seed, devices, plans):
    problem = random_problem(seed, devices, plans, keys=2)
    legacy = legacy_optimize(problem, max_sequences=50)
    legacy_cents = assignment_cost(problem, legacy.assignment).total_cents
    for milp_devices in (3000, 0):  # keys improved by their MILP, and the Lagrangian path alone
        result = exact_optimize(problem, milp_devices=milp_devices)
        _assert_allowed(problem, result.assignment)
        assert result.total_cents <= legacy_cents
        assert result.lower_bound_cents <= result.total_cents
        assert result.total_cents == int(reference_cost(problem, result.assignment) * 100)


def test_lagrangian_bound_is_below_the_proven_optimum(monkeypatch):
    """The bound of the large-fleet path is checked against a key small enough to solve exactly
    (given all the time it needs, whatever the machine's load)."""
    monkeypatch.setattr("amop_pipelines.optimization.exact.MILP_TIME_LIMIT", 120.0)
    problem = random_problem(11, 50, 4, keys=1)
    optimum = exact_optimize(problem, milp_devices=10**6)
    relaxed = exact_optimize(problem, milp_devices=0)
    # proven optimal, key by key (50 devices: to the cent)
    assert all(r.lower_bound_cents == r.cost_cents for r in optimum.keys)
    assert relaxed.lower_bound_cents <= optimum.total_cents <= relaxed.total_cents


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_the_milp_keeps_an_answer_no_costlier_than_the_heuristics_and_a_bound_below_it(seed):
    """Keys of a few hundred devices (past the cent-exact size) are solved as one MILP from the
    heuristic's answer: never costlier than it, and with a lower bound still below the cost."""
    problem = random_problem(seed, 500, 6, keys=2)
    heuristic = exact_optimize(problem, milp_devices=0)
    improved = exact_optimize(problem)
    _assert_allowed(problem, improved.assignment)
    assert {r.method for r in improved.keys} <= {"milp", "lagrangian"}
    assert improved.total_cents <= heuristic.total_cents
    assert heuristic.lower_bound_cents <= improved.lower_bound_cents <= improved.total_cents
    assert improved.total_cents == int(reference_cost(problem, improved.assignment) * 100)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_legacy_assigns_every_device_a_plan_allowed_to_it(seed):
    problem = random_problem(seed, 300, 6, keys=3)
    result = legacy_optimize(problem, max_sequences=20)
    _assert_allowed(problem, result.assignment)
    assert {w.strategy for w in result.winners} <= {
        "no_grouping_desc",
        "no_grouping_asc",
        "by_comm_plan_desc",
        "by_comm_plan_asc",
    }


def test_legacy_samples_sequences_deterministically_when_there_are_too_many():
    from amop_pipelines.optimization.legacy import rate_plan_sequences

    plans = tuple(range(9))  # 9! = 362,880 permutations
    first = rate_plan_sequences(plans, 100)
    assert first == rate_plan_sequences(plans, 100)
    assert len(set(first)) == 100
    assert all(sorted(s) == list(plans) for s in first)
    assert len(rate_plan_sequences((0, 1, 2), 100)) == 6  # all of them when few
