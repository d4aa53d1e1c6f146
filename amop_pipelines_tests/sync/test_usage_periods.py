"""Which period's usage a billing month reads, and which months are refused (no database needed)."""

from datetime import UTC, date, datetime

import pytest

from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.sync.usage_periods import UsageNotHeld, usage_period

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def _provider(integration: str) -> ServiceProvider:
    return ServiceProvider(
        name="Acme",
        integration=integration,
        billing_cycle_end_day=18,
        billing_cycle_end_hour=0,
        time_zone="America/Chicago",
    )


def test_the_running_period_is_read_up_to_now():
    period = usage_period(_provider("jasper"), "2026-12", carrier_kind("jasper"), NOW)
    assert not period.closed and period.end == NOW
    assert period.cycle_start == date(2026, 11, 19)  # the day after the end day


def test_a_closed_period_is_read_whole_and_named_by_its_first_local_day():
    period = usage_period(_provider("jasper"), "2026-10", carrier_kind("jasper"), NOW)
    assert period.closed
    assert period.start == datetime(2026, 9, 19, 5, tzinfo=UTC)  # midnight in Chicago (CDT)
    assert period.end == datetime(2026, 10, 19, 5, tzinfo=UTC)  # the 18th billed whole
    assert period.cycle_start == date(2026, 9, 19)


@pytest.mark.parametrize(
    ("integration", "oldest", "refused"),
    [("jasper", "2026-10", "2026-09"), ("thingspace", "2026-07", "2026-06")],
)
def test_a_month_older_than_the_carrier_keeps_is_refused_with_the_reason(integration, oldest, refused):
    kind = carrier_kind(integration)
    assert usage_period(_provider(integration), oldest, kind, NOW).closed
    with pytest.raises(
        UsageNotHeld, match=rf"Acme {refused}: the period closed 2026-\d\d-19 00:00 America/Chicago"
    ):
        usage_period(_provider(integration), refused, kind, NOW)


def test_a_month_not_begun_is_refused():
    with pytest.raises(UsageNotHeld, match="Acme 2027-01: the billing period begins 2026-12-19 00:00"):
        usage_period(_provider("jasper"), "2027-01", carrier_kind("jasper"), NOW)
