import re

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


def test_demo_runs_the_main_job_into_a_persistent_instance(amop_env):
    import dagster as dg

    result = CliRunner().invoke(main, ["demo", "--devices", "800"])
    assert result.exit_code == 0, result.output
    assert "fleet: 800 devices across 2 providers" in result.output
    run_id = re.search(r"^run (\S+) recorded", result.output, re.MULTILINE).group(1)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
    assert run is not None and run.is_success


def test_seed_refuses_an_impossible_fleet_size(amop_env):
    result = CliRunner().invoke(main, ["demo", "seed", "--devices", "0"])
    assert result.exit_code != 0
    assert "--devices" in result.output
