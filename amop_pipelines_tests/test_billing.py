from datetime import UTC, datetime, timedelta

import pytest

from amop_pipelines.billing import period_containing, period_for_month, window_opens_at


def test_cycle_day_31_is_clamped_to_the_months_end():
    period = period_for_month("2027-02", end_day=31, end_hour=0, time_zone="America/Los_Angeles")
    assert str(period.start_date) == "2027-01-31"
    assert str(period.end_date) == "2027-02-28"
    assert period.days == 28


def test_period_ends_at_local_midnight_of_its_zone():
    period = period_for_month("2026-12", end_day=18, end_hour=0, time_zone="America/Chicago")
    assert period.ends_at == datetime(2026, 12, 18, 6, tzinfo=UTC)  # CST is UTC-6
    assert period.starts_at == datetime(2026, 11, 18, 6, tzinfo=UTC)
    assert period.days == 30


def test_the_instant_of_close_belongs_to_the_next_period():
    close = datetime(2026, 12, 18, 6, tzinfo=UTC)
    assert (
        period_containing(close - timedelta(seconds=1), 18, 0, "America/Chicago").billing_month == "2026-12"
    )
    assert period_containing(close, 18, 0, "America/Chicago").billing_month == "2027-01"


def test_daylight_saving_change_keeps_local_days():
    # US clocks go back on 2026-11-01: the period is 31 local days but 31 days + 1 hour long.
    period = period_for_month("2026-11", end_day=18, end_hour=0, time_zone="America/Chicago")
    assert period.days == 31
    assert period.ends_at - period.starts_at == timedelta(days=31, hours=1)
    # The window opens at local midnight eight days before close, whatever the UTC offset.
    assert window_opens_at(period) == datetime(2026, 11, 10, 6, tzinfo=UTC)


def test_bad_cycle_settings_are_refused():
    with pytest.raises(ValueError, match="end day"):
        period_for_month("2026-12", end_day=0, end_hour=0, time_zone="UTC")
    with pytest.raises(ValueError, match="end hour"):
        period_for_month("2026-12", end_day=5, end_hour=24, time_zone="UTC")
