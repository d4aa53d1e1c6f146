import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from amop_pipelines.cli import main


def _commands(group, path=()):
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", list(_commands(main)), ids=lambda p: " ".join(p) or "amop")
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_demo_runs_the_code_locations_month_job_with_its_checks_into_a_persistent_instance(amop_env):
    import dagster as dg

    result = CliRunner().invoke(main, ["demo", "--devices", "800"])
    assert result.exit_code == 0, result.output
    savings = re.findall(r"^(.+): savings (-?\d+\.\d\d) \((-?\d+\.\d\d)%\)", result.output, re.MULTILINE)
    assert len(savings) == 2  # both demo providers
    assert all(float(amount) >= 0 for _, amount, _ in savings)
    reports = re.findall(r"^report: (/\S+\.xlsx)$", result.output, re.MULTILINE)
    assert len(reports) == 2 and all(Path(p).is_file() for p in reports)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        checks = {
            run.run_id: [
                e.dagster_event.event_specific_data
                for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            ]
            for run in runs
        }
    assert all(run.is_success for run in runs)
    # the code location's own jobs, not ephemeral ones: the UI lists and re-executes them; the fleet
    # summary, downstream of both accounts' devices, is counted after their syncs; the Go
    # decisions' change requests ran; both months were closed and priced
    jobs = sorted(run.job_name for run in runs if run.job_name != "change_request_job")
    assert jobs == [
        "fleet_summary_job",
        "optimization_job",
        "optimization_job",
        "realized_savings_job",
        "realized_savings_job",
    ]
    pushed = re.search(
        r"^pushed the winning plans: (\d+) of (\d+) change request runs succeeded$", result.output, re.M
    )
    assert pushed and pushed[1] == pushed[2] != "0"
    assert sum(run.job_name == "change_request_job" for run in runs) == int(pushed[2])
    realized = re.findall(
        r"^(.+) \d{4}-\d\d after close: realized savings (-?[\d.]+), left on the table ([\d.]+), "
        r"projection error (-?[\d.]+)% \((\d+) devices on new plans\)$",
        result.output,
        re.M,
    )
    assert len(realized) == 2
    # the plans the carrier applied are the plans at close: each account's pushed changes show
    assert all(int(changed) > 0 and float(savings) > 0 for _, savings, _, _, changed in realized)
    counted = int(
        re.search(r"^fleet summary: ([\d,]+) devices in the AMOP database$", result.output, re.M)[1].replace(
            ",", ""
        )
    )
    assert counted == 800
    warned = set()
    for run_id, evaluations in checks.items():  # the asset checks ran with the month jobs
        if next(r for r in runs if r.run_id == run_id).job_name != "optimization_job":
            continue
        names = {e.check_name for e in evaluations}
        assert {"device_iccids_well_formed", "staged_iccids_unique", "comm_groups_within_plan_limit"} <= names
        warned |= {e.check_name for e in evaluations if not e.passed}
    # and said what the demo fleet holds on purpose: CP-LEGACY allows 17 plans, over the limit of 15
    assert warned == {"comm_groups_within_plan_limit"}


def test_seed_refuses_an_impossible_fleet_size(amop_env):
    result = CliRunner().invoke(main, ["demo", "seed", "--devices", "0"])
    assert result.exit_code != 0
    assert "--devices" in result.output


def test_db_downgrade_needs_a_revision_and_a_confirmation_and_changes_nothing_without_them(amop_env):
    from amop_pipelines.db import migrate
    from amop_pipelines.settings import database_url

    migrate.upgrade(database_url())
    head = migrate.current_revision(database_url())
    runner = CliRunner()
    bare = runner.invoke(main, ["db", "downgrade"])
    assert bare.exit_code == 2 and "Missing option '--revision'" in bare.output
    unconfirmed = runner.invoke(main, ["db", "downgrade", "--revision", "base"])
    assert unconfirmed.exit_code == 1 and "Nothing was changed: run again with --yes" in unconfirmed.output
    assert migrate.current_revision(database_url()) == head
    confirmed = runner.invoke(main, ["db", "downgrade", "--revision", "0007", "--yes"])
    assert confirmed.exit_code == 0 and migrate.current_revision(database_url()) == "0007"
