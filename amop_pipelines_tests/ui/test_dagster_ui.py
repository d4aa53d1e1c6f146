"""What an operator does in the Dagster UI, in a real browser; each test saves its screenshots."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from amop_pipelines.billing import period_containing
from amop_pipelines.db.engine import make_engine
from amop_pipelines.demo.catalog import JASPER

LINEAGE = (
    "device_staging",
    "usage_staging",
    "devices",
    "device_usage",
    "carrier_rate_plans",
    "comm_plan_groups",
    "optimization_queues",
    "optimization_results",
    "winning_results",
    "optimization_report",
)
LOCATION = "amop_pipelines.definitions"


def _shown(name: str, text: str) -> bool:
    """The graph shortens long names to their head and tail ("optimizati…_report")."""
    if re.search(rf"^{re.escape(name)}$", text, re.MULTILINE):
        return True
    return any(
        name.startswith(head) and name.endswith(tail) and len(head) >= 6 and len(tail) >= 5
        for head, tail in re.findall(r"^(\S+)…(\S+)$", text, re.MULTILINE)
    )


def test_the_asset_graph_shows_the_whole_lineage_and_the_checks(ui):
    ui.open(
        "/assets/optimization_report?view=lineage&lineageScope=upstream&lineageDepth=10", "device_staging"
    )
    text = ui.text()
    missing = [name for name in LINEAGE if not _shown(name, text)]
    assert not missing, missing
    ui.shot("asset-lineage")
    # the fleet summary counts what every account's sync stored: downstream of devices, and
    # materialized by `amop demo`
    ui.open("/assets/fleet_summary?view=lineage&lineageScope=upstream&lineageDepth=3", "device_staging")
    assert _shown("devices", ui.text()) and _shown("fleet_summary", ui.text())
    ui.open("/assets/fleet_summary", "Latest materialization")
    ui.open("/assets/devices?view=checks", "Checks")
    for check in ("device_iccids_well_formed", "device_plans_known"):
        ui.page.get_by_text(check).first.wait_for(timeout=30_000)
    ui.shot("asset-checks")


def _materialize(ui, asset: str, month: str, shot: str | None = None) -> None:
    """Materialize… one Jasper partition of `asset` from its page, as an operator does; then on
    the run's page, which follows the run."""
    ui.open(f"/assets/{asset}?view=definition", "Materialize…")  # no partition keys behind the dialog
    ui.page.get_by_role("button", name="Materialize…").first.click()
    ui.page.get_by_placeholder(re.compile(r"^ex: \d{4}-\d\d-01")).fill(month)  # the first keys
    ui.page.keyboard.press("Enter")
    ui.page.get_by_text("Select a partition or create one").click()
    ui.page.get_by_text("acme-iot-jasper").first.click()
    ui.page.get_by_text(f"Launch runs to materialize {asset}").click()  # closes the list
    ui.page.get_by_text("1 partition", exact=True).wait_for()
    if shot:
        ui.shot(shot)
    ui.page.get_by_role("button", name="Launch 1 run").click()
    ui.page.get_by_text(re.compile(r"Launched run")).first.wait_for(timeout=60_000)
    ui.page.get_by_text("View", exact=True).last.click()
    ui.page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+"))


def test_a_partition_materialized_from_the_ui_finishes_green(ui):
    month = date.today().replace(day=1).isoformat()
    _materialize(ui, "device_staging", month, shot="materialize-dialog")
    ui.page.get_by_text(f"{month}|acme-iot-jasper").first.wait_for(timeout=60_000)
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=180_000)  # the page follows the run
    assert "RUN_FAILURE" not in ui.text()
    ui.shot("materialized-run")


def test_a_month_the_carrier_no_longer_holds_fails_in_the_ui_with_the_reason(ui):
    """Jasper keeps the running cycle and the two before it: a backfill three months back fails
    on the run page saying why, instead of storing today's usage under that month."""
    today = date.today()
    year, month = divmod(today.year * 12 + today.month - 1 - 3, 12)
    past = f"{year:04d}-{month + 1:02d}-01"
    _materialize(ui, "usage_staging", past)
    ui.page.get_by_text("Failure", exact=True).first.wait_for(timeout=180_000)
    reason = ui.page.get_by_text(re.compile(r"answers usage for the current period and the 2 before it only"))
    reason.first.wait_for(timeout=60_000)
    assert f"Nothing was stored for {past[:7]}" in ui.text()
    ui.shot("past-month-refused")


def test_winning_results_show_the_savings_table(ui):
    ui.open("/assets/winning_results?view=events", "Events")
    ui.page.get_by_text("savings_per_rate_plan").first.wait_for(timeout=30_000)
    text = ui.text()
    assert "savings_percent" in text and "devices_changed" in text
    table = ui.page.get_by_role("table").filter(has_text="devices before").last
    rows = [row for row in table.inner_text().splitlines() if re.match(r"^[JT]-[A-Z0-9-]+\t", row)]
    assert rows, table.inner_text()  # a row per carrier rate plan: devices and cost before and after
    assert re.search(r"^savings\s+\d+(\.\d+)?$", text, re.MULTILINE)  # a number, plotted across months
    ui.shot("savings-table")


def test_the_sensors_are_listed_and_can_be_turned_on(ui):
    ui.open("/automation", "optimization_window_sensor")
    text = ui.text()
    for sensor in (
        "optimization_window_sensor",
        "provider_partitions_sensor",
        "change_requests_sensor",
        "effective_dates_sensor",
        "callback_reconciliation_sensor",
    ):
        assert sensor in text, sensor
    sensor_page = f"/locations/{LOCATION}/sensors/optimization_window_sensor"
    ui.open(sensor_page, "optimization_window_sensor")
    # what it watches, when it fires and what it launches, on its page
    ui.page.get_by_text(re.compile(r"Watches each active provider's billing close")).first.wait_for()
    switch = ui.page.locator("label.bp5-switch, label:has(input[type=checkbox])").first
    state = ui.page.locator("input[type=checkbox]").first
    switch.wait_for()
    if state.is_checked():  # running by default: stop it first, as an operator would in an outage
        switch.click()
        expect(state).not_to_be_checked(timeout=30_000)
    switch.click()
    expect(state).to_be_checked(timeout=30_000)
    ui.open(sensor_page, "Latest tick")  # and it stays on
    expect(ui.page.locator("input[type=checkbox]").first).to_be_checked(timeout=30_000)
    ui.shot("sensor-on")


_CORE_DEVICES = (
    "SELECT d.iccid FROM device d JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
    "JOIN communication_plan cp ON cp.id = d.communication_plan_id WHERE cp.name = 'CP-CORE' "
    "AND rp.plan_code != 'J-POOL-20MB' AND d.status = 'ACTIVATED' "
)
TWO_DEVICES = {
    "last": sa.text(_CORE_DEVICES + "ORDER BY d.iccid DESC LIMIT 2"),
    "first": sa.text(_CORE_DEVICES + "ORDER BY d.iccid LIMIT 2"),
}


def _file_from_the_launchpad(ui, stack, which: str, requested_by: str) -> None:
    """A Change Carrier Rate Plan request for two CP-CORE devices, typed into the launchpad."""
    engine = make_engine(f"sqlite:///{stack.data_dir / 'amop.sqlite3'}")
    with engine.connect() as connection:
        iccids = connection.scalars(TWO_DEVICES[which]).all()
    engine.dispose()
    items = "".join(f"          - iccid: '{iccid}'\n            rate_plan: J-POOL-20MB\n" for iccid in iccids)
    config = (
        "ops:\n  file_change_carrier_rate_plan:\n    config:\n"
        f"      requested_by: {requested_by}\n      items:\n{items}"
    )
    ui.open(f"/locations/{LOCATION}/jobs/change_carrier_rate_plan_job/playground", "Launch Run")
    editor = ui.page.locator(".CodeMirror").first
    editor.click()
    ui.page.keyboard.press("Control+A")
    ui.page.keyboard.insert_text(config)
    ui.page.wait_for_timeout(1500)


def test_a_change_job_launched_from_the_launchpad_shows_its_items_outcome(ui, stack):
    _file_from_the_launchpad(ui, stack, "last", "ui-operator")
    ui.shot("launchpad")
    ui.page.get_by_role("button", name="Launch Run").click()
    ui.page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+"))
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=120_000)
    engine = make_engine(f"sqlite:///{stack.data_dir / 'amop.sqlite3'}")
    with engine.connect() as connection:  # the job filed exactly one request, as ui-operator
        (request_id,) = connection.scalars(
            sa.text("SELECT request_id FROM change_request WHERE requested_by = 'ui-operator'")
        ).all()
    engine.dispose()
    assert request_id in ui.text()  # the filing run's metadata names it
    # the job filed the request; change_requests_sensor starts its run, whose log shows the outcome
    # launched by the sensor, tagged with the request (beside the demo's own pushes of its plans)
    ui.wait_for_text(
        f"/locations/{LOCATION}/jobs/change_request_job/runs", "change_requests_sensor", timeout=240
    )
    ui.page.get_by_text("View", exact=True).first.click()  # the newest run first
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=120_000)
    ui.page.get_by_text(re.compile(r"completed \(completed 2\)")).first.wait_for(timeout=60_000)
    assert request_id in ui.text()  # the change run is the request's (its tag)
    ui.shot("change-run")


@pytest.mark.slow  # a run through the daemon's queue each: .ci/run runs them apart
def test_a_change_run_whose_items_end_dead_shows_failed_with_its_outcome(ui, stack):
    """The carrier answers every edit and applies none (as some tenants do): both items end dead
    after their attempts, and the change run shows Failure with the outcome, not a green run."""
    simulator = re.findall(r"carrier simulator at (http://\S+)", stack.log_path.read_text())[-1]
    httpx.put(
        f"{simulator}/_sim/faults", json={"carrier": "jasper", "edit_ignored_rate": 1.0}
    ).raise_for_status()
    try:
        _file_from_the_launchpad(ui, stack, "first", "ui-dead-items")
        ui.page.get_by_role("button", name="Launch Run").click()
        ui.page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+"))
        ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=120_000)  # filed
        ui.wait_for_text(f"/locations/{LOCATION}/jobs/change_request_job/runs", "Failure", timeout=300)
        ui.page.get_by_text("View", exact=True).first.click()
        ui.page.get_by_text("Failure", exact=True).first.wait_for(timeout=60_000)
        ui.page.get_by_text(re.compile(r"2 items failed \(dead 2\)")).first.wait_for(timeout=60_000)
        ui.shot("change-run-dead-items")
    finally:
        httpx.delete(f"{simulator}/_sim/faults")


def _demo_month() -> str:
    """The billing month `amop demo` ran for the Jasper account (its period running now)."""
    period = period_containing(datetime.now(UTC), JASPER.billing_cycle_end_day, 0, JASPER.time_zone)
    return f"{period.billing_month}-01"


def test_amop_demo_ran_the_asset_checks(ui):
    ui.open("/assets/devices?view=checks", "Checks")
    ui.page.get_by_text("device_iccids_well_formed").first.wait_for(timeout=30_000)
    ui.page.get_by_text(re.compile(r"^Passed$")).first.wait_for(timeout=30_000)
    text = ui.text()
    assert "Not evaluated" not in text, text[:2000]
    ui.shot("checks-after-demo")


@pytest.mark.slow  # a run through the daemon's queue each: .ci/run runs them apart
def test_a_demo_run_is_listed_under_its_job_and_re_executed_from_the_ui(ui):
    ui.open(f"/locations/{LOCATION}/jobs/optimization_job/runs", "Runs")
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
    ui.page.get_by_text("View", exact=True).last.click()  # the oldest: a demo run
    ui.page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+"))
    parent = ui.page.url.rsplit("/", 1)[-1]
    button = ui.page.get_by_role("button", name=re.compile(r"Re-execute all"))
    expect(button.first).to_be_enabled(timeout=60_000)
    ui.shot("demo-run")
    button.first.click()
    ui.page.wait_for_url(lambda url: "/runs/" in url and parent not in url, timeout=60_000)
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=480_000)
    assert "RUN_FAILURE" not in ui.text()
    ui.shot("demo-run-re-executed")


@pytest.mark.slow  # a run through the daemon's queue each: .ci/run runs them apart
def test_optimization_report_alone_rematerializes_after_a_restart_of_the_ui(ui, stack):
    """The outputs it reads (winning_results, written by `amop demo`) and the runs before it
    survive a restart: the instance and the step storage are the project's, not a temporary home."""
    stack.restart()
    month = _demo_month()
    ui.open("/runs", "Runs")
    ui.page.get_by_text("optimization_job").first.wait_for(timeout=60_000)  # the demo's runs are still there
    _materialize(ui, "optimization_report", month)
    ui.page.get_by_text("Success", exact=True).first.wait_for(timeout=180_000)
    assert "RUN_FAILURE" not in ui.text()
    ui.shot("report-after-restart")
