from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from amop_pipelines.billing import period_containing, period_for_month, window_opens_at

LA = "America/Los_Angeles"


def test_the_end_day_is_billed_whole_and_the_next_period_starts_the_day_after():
    period = period_for_month("2026-12", end_day=18, end_hour=0, time_zone="America/Chicago")
    assert (period.start_date, period.end_date) == (date(2026, 11, 19), date(2026, 12, 18))
    assert period.starts_at == datetime(2026, 11, 19, 6, tzinfo=UTC)  # CST is UTC-6
    assert period.ends_at == datetime(2026, 12, 19, 6, tzinfo=UTC)  # midnight after the 18th
    assert period.days == 30
    following = period_for_month("2027-01", end_day=18, end_hour=0, time_zone="America/Chicago")
    assert following.starts_at == period.ends_at and following.start_date == date(2026, 12, 19)


@pytest.mark.parametrize(
    ("month", "first", "last", "days"),
    [
        ("2027-01", date(2027, 1, 1), date(2027, 1, 31), 31),
        ("2027-02", date(2027, 2, 1), date(2027, 2, 28), 28),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), 29),  # leap year
        ("2027-04", date(2027, 4, 1), date(2027, 4, 30), 30),
    ],
)
def test_a_month_end_account_bills_each_calendar_month_whole_in_short_months_too(month, first, last, days):
    period = period_for_month(month, end_day=31, end_hour=0, time_zone=LA)
    assert (period.start_date, period.end_date, period.days) == (first, last, days)
    local_last_minute = datetime.combine(last, datetime.min.time(), ZoneInfo(LA)) + timedelta(
        hours=23, minutes=59
    )
    assert period_containing(local_last_minute, 31, 0, LA).billing_month == month  # the 31st is not lost
    assert period_containing(period.ends_at, 31, 0, LA).start_date == last + timedelta(days=1)


def test_an_end_day_past_a_short_months_length_ends_on_its_last_day_and_loses_no_day():
    # cycle end day 30: February's period ends on the 28th, March's runs from the 1st to the 30th,
    # and March 31st opens April's period
    february = period_for_month("2027-02", end_day=30, end_hour=0, time_zone="UTC")
    march = period_for_month("2027-03", end_day=30, end_hour=0, time_zone="UTC")
    april = period_for_month("2027-04", end_day=30, end_hour=0, time_zone="UTC")
    assert (february.start_date, february.end_date) == (date(2027, 1, 31), date(2027, 2, 28))
    assert (march.start_date, march.end_date) == (date(2027, 3, 1), date(2027, 3, 30))
    assert april.start_date == date(2027, 3, 31)
    assert february.ends_at == march.starts_at and march.ends_at == april.starts_at
    assert february.days + march.days + april.days == (date(2027, 4, 30) - date(2027, 1, 31)).days + 1


def test_the_instant_of_close_belongs_to_the_next_period():
    close = datetime(2026, 12, 19, 6, tzinfo=UTC)
    assert (
        period_containing(close - timedelta(seconds=1), 18, 0, "America/Chicago").billing_month == "2026-12"
    )
    assert period_containing(close, 18, 0, "America/Chicago").billing_month == "2027-01"


def test_the_end_hour_closes_the_period_that_many_hours_into_the_night_after_the_end_day():
    period = period_for_month("2026-12", end_day=18, end_hour=2, time_zone="UTC")
    assert period.ends_at == datetime(2026, 12, 19, 2, tzinfo=UTC)
    assert period.end_date == date(2026, 12, 18) and period.days == 30
    assert (
        period_containing(datetime(2026, 12, 19, 1, 59, tzinfo=UTC), 18, 2, "UTC").billing_month == "2026-12"
    )
    # early on the 19th of November, the November period has not closed yet
    assert period_containing(datetime(2026, 11, 19, 1, tzinfo=UTC), 18, 2, "UTC").billing_month == "2026-11"


def test_daylight_saving_change_keeps_local_days():
    # US clocks go back on 2026-11-01: the period is 31 local days but 31 days + 1 hour long.
    period = period_for_month("2026-11", end_day=18, end_hour=0, time_zone="America/Chicago")
    assert period.days == 31
    assert period.ends_at - period.starts_at == timedelta(days=31, hours=1)
    # The window opens at local midnight of the eighth day before close, whatever the UTC offset.
    assert window_opens_at(period) == datetime(2026, 11, 11, 6, tzinfo=UTC)


def test_bad_cycle_settings_are_refused():
    with pytest.raises(ValueError, match="end day"):
        period_for_month("2026-12", end_day=0, end_hour=0, time_zone="UTC")
    with pytest.raises(ValueError, match="end hour"):
        period_for_month("2026-12", end_day=5, end_hour=24, time_zone="UTC")
