"""The load and fault campaign (bench/campaign.py) on a small fleet: under every fault the
simulator injects and a change run SIGKILLed mid-way, nothing is lost and nothing applied twice.

Slow (several minutes): run with `pytest -m slow`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_campaign_loses_nothing_and_applies_nothing_twice(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "campaign.py"),
            "--devices",
            "20000",
            "--items",
            "1000",
            "--batch-size",
            "150",
            "--workdir",
            str(tmp_path / "campaign"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(run.stdout.rsplit("CAMPAIGN ", 1)[1])
    assert summary["synced"] == 20000
    assert summary["items"] == 1000
    assert summary["completed"] + summary["failed"] + summary["dead"] == 1000
    assert summary["completed"] >= 900  # faults cost retries, not items
    assert (summary["lost"], summary["applied_twice"], summary["dead_without_reason"]) == (0, 0, 0)
    assert summary["rows_after"]["change_item"] - summary["rows_before"]["change_item"] == 1000
    assert summary["rows_after"]["device"] >= 20000
