from datetime import UTC, datetime, timedelta

import pytest

from amop_pipelines.planning.automation import batches, decide

CLOSE = datetime(2026, 12, 18, 6, tzinfo=UTC)


def test_go_needs_ten_spare_minutes_after_pushing_every_change():
    # 3,000 changes at 5 per second take 10 minutes
    assert decide(CLOSE - timedelta(minutes=20), CLOSE, 3000, 5).go
    assert not decide(CLOSE - timedelta(minutes=19, seconds=59), CLOSE, 3000, 5).go
    assert "No Go" in decide(CLOSE - timedelta(minutes=5), CLOSE, 3000, 5).explain()


def test_batches_hold_at_most_250():
    assert [len(b) for b in batches(list(range(751)))] == [250, 250, 250, 1]


def test_a_carrier_without_throughput_is_refused():
    with pytest.raises(ValueError, match="throughput"):
        decide(CLOSE - timedelta(days=1), CLOSE, 10, 0)
