"""The optimization window with a controlled clock, in each provider's own time zone."""

from datetime import UTC, datetime, timedelta

import pytest

from amop_pipelines.window import may_start, window_slot

CHICAGO = {"end_day": 18, "end_hour": 0, "time_zone": "America/Chicago", "start_hour": 6}
LOS_ANGELES = {"end_day": 31, "end_hour": 0, "time_zone": "America/Los_Angeles", "start_hour": 8}


def slot(now: datetime, settings: dict, provider: str = "p"):
    return window_slot(now, provider, **settings)


def test_window_opens_eight_local_days_before_close_in_each_zone():
    # Chicago bills through the 18th and closes 2026-12-19 00:00 CST (06:00 UTC): the window's
    # eight days are the 11th to the 18th, opening 2026-12-11 06:00 UTC
    assert slot(datetime(2026, 12, 11, 5, 59, 59, tzinfo=UTC), CHICAGO) is None
    opened = slot(datetime(2026, 12, 11, 6, 0, tzinfo=UTC), CHICAGO)
    assert opened is not None and opened.local_date == "2026-12-11" and opened.billing_month == "2026-12"
    # the same instant is outside Los Angeles' window (its period closes at month end)
    assert slot(datetime(2026, 12, 11, 6, 0, tzinfo=UTC), LOS_ANGELES) is None
    # Los Angeles bills through the 31st, closing 2027-01-01 00:00 PST: its window opens on the 24th
    assert slot(datetime(2026, 12, 24, 7, 59, tzinfo=UTC), LOS_ANGELES) is None
    assert slot(datetime(2026, 12, 24, 8, 0, tzinfo=UTC), LOS_ANGELES).local_date == "2026-12-24"
    last = slot(datetime(2027, 1, 1, 7, 59, tzinfo=UTC), LOS_ANGELES)  # 23:59 on the 31st, local
    assert last.final_day and last.local_date == "2026-12-31" and last.billing_month == "2026-12"


def test_month_end_clamps_to_a_short_month():
    # cycle end day 31 in February bills through the 28th: the window is the 21st to the 28th
    assert slot(datetime(2027, 2, 21, 7, 59, tzinfo=UTC), LOS_ANGELES) is None
    opened = slot(datetime(2027, 2, 21, 8, 0, tzinfo=UTC), LOS_ANGELES)
    assert opened.billing_month == "2027-02"
    final = slot(datetime(2027, 2, 28, 16, tzinfo=UTC), LOS_ANGELES)  # 08:00 on the 28th, local
    assert final.final_day and final.hour == 8
    # March 1st belongs to March's period, outside its window
    assert slot(datetime(2027, 3, 1, 8, 0, tzinfo=UTC), LOS_ANGELES) is None


def test_one_run_a_day_with_idempotent_run_keys():
    ticks = [datetime(2026, 12, 11, 6, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(49)]
    keys = {slot(t, CHICAGO).run_key for t in ticks}  # ticks every 30 minutes for a day and one more
    assert keys == {
        "optimization|p|2026-12|2026-12-11",
        "optimization|p|2026-12|2026-12-12",
    }  # local days: 11th from 06:00 UTC, 12th from 06:00 UTC the next day


def test_final_day_runs_hourly_from_the_start_hour():
    # Chicago's final day is its end day, 2026-12-18 (local); start hour 06:00 CST
    assert slot(datetime(2026, 12, 18, 11, 59, tzinfo=UTC), CHICAGO) is None  # 05:59 local
    hourly = [slot(datetime(2026, 12, 18, 12, tzinfo=UTC) + timedelta(hours=h), CHICAGO) for h in range(18)]
    assert all(s.final_day for s in hourly)
    assert [s.hour for s in hourly] == list(range(6, 24))
    assert len({s.run_key for s in hourly}) == 18


def test_daylight_saving_change_inside_the_window():
    # US clocks spring forward on 2027-03-14; Chicago's period closes 2027-03-19 00:00 CDT (05:00 UTC)
    assert slot(datetime(2027, 3, 11, 5, 59, tzinfo=UTC), CHICAGO) is None  # 23:59 CST on the 10th
    assert slot(datetime(2027, 3, 11, 6, 0, tzinfo=UTC), CHICAGO).local_date == "2027-03-11"
    # after the change, local midnight is 05:00 UTC: the 15th starts at 05:00 UTC
    assert slot(datetime(2027, 3, 15, 4, 59, tzinfo=UTC), CHICAGO).local_date == "2027-03-14"
    assert slot(datetime(2027, 3, 15, 5, 0, tzinfo=UTC), CHICAGO).local_date == "2027-03-15"
    # the final day's start hour 06:00 CDT is 11:00 UTC
    assert slot(datetime(2027, 3, 18, 10, 59, tzinfo=UTC), CHICAGO) is None
    assert slot(datetime(2027, 3, 18, 11, 0, tzinfo=UTC), CHICAGO).hour == 6


@pytest.mark.parametrize(
    ("final_day", "busy", "allowed"), [(False, True, False), (False, False, True), (True, True, True)]
)
def test_no_overlap_except_on_the_final_day(final_day, busy, allowed):
    now = datetime(2026, 12, 18, 13, tzinfo=UTC) if final_day else datetime(2026, 12, 12, 13, tzinfo=UTC)
    assert may_start(slot(now, CHICAGO), provider_busy=busy) is allowed
