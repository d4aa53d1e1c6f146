"""The optimization window with a controlled clock, in each provider's own time zone."""

from datetime import UTC, datetime, timedelta

import pytest

from amop_pipelines.window import may_start, window_slot

CHICAGO = {"end_day": 18, "end_hour": 0, "time_zone": "America/Chicago", "start_hour": 6}
LOS_ANGELES = {"end_day": 31, "end_hour": 0, "time_zone": "America/Los_Angeles", "start_hour": 8}


def slot(now: datetime, settings: dict, provider: str = "p"):
    return window_slot(now, provider, **settings)


def test_window_opens_eight_local_days_before_close_in_each_zone():
    # Chicago closes 2026-12-18 00:00 CST (06:00 UTC): the window opens 2026-12-10 06:00 UTC
    assert slot(datetime(2026, 12, 10, 5, 59, 59, tzinfo=UTC), CHICAGO) is None
    opened = slot(datetime(2026, 12, 10, 6, 0, tzinfo=UTC), CHICAGO)
    assert opened is not None and opened.local_date == "2026-12-10" and opened.billing_month == "2026-12"
    # the same instant is outside Los Angeles' window (its period closes at month end)
    assert slot(datetime(2026, 12, 10, 6, 0, tzinfo=UTC), LOS_ANGELES) is None
    # Los Angeles closes 2026-12-31 00:00 PST (08:00 UTC): its window opens 2026-12-23 08:00 UTC
    assert slot(datetime(2026, 12, 23, 7, 59, tzinfo=UTC), LOS_ANGELES) is None
    assert slot(datetime(2026, 12, 23, 8, 0, tzinfo=UTC), LOS_ANGELES).local_date == "2026-12-23"


def test_month_end_clamps_to_a_short_month():
    # cycle end day 31 in February closes 2027-02-28 00:00 PST: the window opens 2027-02-20 08:00 UTC
    assert slot(datetime(2027, 2, 20, 7, 59, tzinfo=UTC), LOS_ANGELES) is None
    opened = slot(datetime(2027, 2, 20, 8, 0, tzinfo=UTC), LOS_ANGELES)
    assert opened.billing_month == "2027-02"


def test_one_run_a_day_with_idempotent_run_keys():
    ticks = [datetime(2026, 12, 11, 6, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(49)]
    keys = {slot(t, CHICAGO).run_key for t in ticks}  # ticks every 30 minutes for a day and one more
    assert keys == {
        "optimization|p|2026-12|2026-12-11",
        "optimization|p|2026-12|2026-12-12",
    }  # local days: 11th from 06:00 UTC, 12th from 06:00 UTC the next day


def test_final_day_runs_hourly_from_the_start_hour():
    # Chicago's final day before the 2026-12-18 close is 2026-12-17 (local); start hour 06:00 CST
    assert slot(datetime(2026, 12, 17, 11, 59, tzinfo=UTC), CHICAGO) is None  # 05:59 local
    hourly = [slot(datetime(2026, 12, 17, 12, tzinfo=UTC) + timedelta(hours=h), CHICAGO) for h in range(18)]
    assert all(s.final_day for s in hourly)
    assert [s.hour for s in hourly] == list(range(6, 24))
    assert len({s.run_key for s in hourly}) == 18


def test_daylight_saving_change_inside_the_window():
    # US clocks spring forward on 2027-03-14; Chicago's period closes 2027-03-18 00:00 CDT (05:00 UTC)
    assert slot(datetime(2027, 3, 10, 5, 59, tzinfo=UTC), CHICAGO) is None  # 23:59 CST on the 9th
    assert slot(datetime(2027, 3, 10, 6, 0, tzinfo=UTC), CHICAGO).local_date == "2027-03-10"
    # after the change, local midnight is 05:00 UTC: the 15th starts at 05:00 UTC
    assert slot(datetime(2027, 3, 15, 4, 59, tzinfo=UTC), CHICAGO).local_date == "2027-03-14"
    assert slot(datetime(2027, 3, 15, 5, 0, tzinfo=UTC), CHICAGO).local_date == "2027-03-15"
    # the final day's start hour 06:00 CDT is 11:00 UTC
    assert slot(datetime(2027, 3, 17, 10, 59, tzinfo=UTC), CHICAGO) is None
    assert slot(datetime(2027, 3, 17, 11, 0, tzinfo=UTC), CHICAGO).hour == 6


@pytest.mark.parametrize(
    ("final_day", "busy", "allowed"), [(False, True, False), (False, False, True), (True, True, True)]
)
def test_no_overlap_except_on_the_final_day(final_day, busy, allowed):
    now = datetime(2026, 12, 17, 13, tzinfo=UTC) if final_day else datetime(2026, 12, 12, 13, tzinfo=UTC)
    assert may_start(slot(now, CHICAGO), provider_busy=busy) is allowed
