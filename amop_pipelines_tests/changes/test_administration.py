"""Working with requests from the CLI: list, cancel what is not sent, retry what failed, export."""

import csv
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import audit_trail, status, submit_file
from amop_pipelines.cli import main
from amop_pipelines_tests.changes.test_execute import _jasper_devices, _plan_file


@pytest.fixture
def amop(world, sqlite_url, monkeypatch):
    """`amop` on the world's database."""
    monkeypatch.setenv("AMOP_DATABASE_URL", sqlite_url)

    def run(*args: str):
        return CliRunner().invoke(main, list(args))

    return run


def test_list_filters_by_state_and_provider(world, amop):
    _, engine, _, tmp_path = world
    devices = _jasper_devices(engine, 4)
    plain = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices[:2]), "alice")
    status_file = tmp_path / "deactivate.csv"
    status_file.write_text(f"iccid,status\n{devices[2][0]},Inactive\n")
    critical = submit_file(engine, "update_device_status", status_file, "alice")

    everything = amop("changes", "list")
    assert everything.exit_code == 0, everything.output
    lines = everything.output.splitlines()
    assert lines[0].startswith(critical) and lines[1].startswith(plain) and lines[-1] == "2 requests"
    waiting = amop("changes", "list", "--status", "awaiting_approval").output.splitlines()
    assert [line.split()[0] for line in waiting[:-1]] == [critical]
    assert (
        amop("changes", "list", "--provider", "Northwind Fleet (ThingSpace)").output.strip() == "0 requests"
    )
    assert all("Acme IoT (Jasper)" in line and "by alice" in line for line in lines[:2])
    jasper = amop("changes", "list", "--provider", "Acme IoT (Jasper)").output.splitlines()
    assert jasper[-1] == "2 requests"
    refused = amop("changes", "list", "--status", "stuck")
    assert refused.exit_code == 1 and "unknown state 'stuck': one of awaiting_approval" in refused.output
    assert "unknown service provider 'Nobody'" in amop("changes", "list", "--provider", "Nobody").output


def test_cancel_stops_items_not_yet_sent_and_is_audited(world, amop):
    sim, engine, _, tmp_path = world
    request_id = submit_file(
        engine, "change_carrier_rate_plan", _plan_file(tmp_path, _jasper_devices(engine, 3)), "alice"
    )
    result = amop("changes", "cancel", request_id, "--by", "bob")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"request {request_id}: 3 items cancelled; state: cancelled"
    assert status(engine, request_id).items_by_state == {"cancelled": 3}
    assert any("cancelled" in line and "bob" in line for line in audit_trail(engine, request_id))
    assert not [op for op in sim.operations() if op["operation"] == "edit"]  # nothing was sent
    again = amop("changes", "cancel", request_id, "--by", "bob")
    assert again.exit_code == 1 and "is cancelled: nothing left to cancel" in again.output
    assert "--by must name someone" in amop("changes", "cancel", request_id, "--by", " ").output


def test_retry_runs_failed_and_dead_items_again_as_a_new_round(world, amop):
    sim, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 4)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    sim.set_faults("jasper", route="/rws/api/v1/devices/", error_rate=1.0)  # every call refused
    first = execute_request(engine, request_id, client_for, max_attempts=2, backoff_seconds=0.01)
    assert first.state == "completed_with_errors" and first.counts == {"dead": 4}

    result = amop("changes", "retry", request_id, "--by", "bob")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"request {request_id}: 4 items to run again; state: pending"
    assert status(engine, request_id).state == "pending"
    sim.set_faults("jasper", route="/rws/api/v1/devices/", error_rate=0.0)
    second = execute_request(engine, request_id, client_for)
    assert second.state == "completed" and second.counts == {"completed": 4}
    assert any("retry" in line and "bob" in line for line in audit_trail(engine, request_id))
    nothing = amop("changes", "retry", request_id, "--by", "bob")
    assert nothing.exit_code == 1 and "has no failed or dead item to retry" in nothing.output


def test_export_writes_each_items_outcome(world, amop):
    _, engine, client_for, tmp_path = world
    devices = _jasper_devices(engine, 3)
    request_id = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    execute_request(engine, request_id, client_for)
    out = tmp_path / "outcome.csv"
    result = amop("changes", "export", request_id, "--out", str(out))
    assert result.exit_code == 0 and result.output.strip() == f"3 items written to {out}"
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iccid"] for r in rows] == [d[0] for d in devices] and {r["state"] for r in rows} == {
        "completed"
    }
    assert all(json.loads(r["parameters"])["rate_plan"] for r in rows) and all(
        r["completed_at"] for r in rows
    )
    assert list(rows[0]) == [
        "row",
        "iccid",
        "state",
        "step",
        "attempts",
        "last_error",
        "carrier_request_id",
        "completed_at",
        "parameters",
        "previous_values",
    ]
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM change_request")) == 1
    assert "is a directory" in amop("changes", "export", request_id, "--out", str(tmp_path)).output


def test_a_cancelled_plan_change_does_not_block_the_next_one(world, amop):
    """Cancelled items are settled: the device may take a new plan change at once."""
    _, engine, _, tmp_path = world
    devices = _jasper_devices(engine, 1)
    first = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    assert amop("changes", "cancel", first, "--by", "bob").exit_code == 0
    second = submit_file(engine, "change_carrier_rate_plan", _plan_file(tmp_path, devices), "alice")
    assert status(engine, second).items_by_state == {"pending": 1}
