import numpy as np

from amop_pipelines.optimization.projection import project_usage


def test_a_device_halfway_through_its_cycle_is_projected_to_twice_its_usage():
    projected = project_usage(np.array([40.0]), np.array([15.0]), np.array([30.0]), 30)
    assert projected[0] == 80.0


def test_a_device_activated_mid_cycle_is_scaled_over_its_own_active_days():
    # active for the last 10 days of a 30-day cycle, 5 of them elapsed: twice its usage so far
    projected = project_usage(np.array([10.0]), np.array([5.0]), np.array([10.0]), 30)
    assert projected[0] == 20.0


def test_earlier_cycles_weigh_most_early_in_the_cycle_and_never_below_usage_so_far():
    history = np.array([300.0, 300.0, np.nan])
    projected = project_usage(
        np.array([10.0, 10.0, 10.0]), np.array([3.0, 27.0, 3.0]), np.array([30.0] * 3), 30, history
    )
    early, late, unknown = projected
    assert early == 0.1 * 100 + 0.9 * 300  # 10 MB in 3 days scales to 100; history says 300
    assert late < early and late >= 10.0
    assert unknown == 100.0
    floor = project_usage(np.array([50.0]), np.array([29.0]), np.array([30.0]), 30, np.array([0.0]))
    assert floor[0] >= 50.0


def test_a_device_a_few_hours_old_is_not_scaled_by_a_huge_factor():
    projected = project_usage(np.array([5.0]), np.array([0.1]), np.array([30.0]), 30)
    assert projected[0] == 150.0  # counted as one day, not a tenth
