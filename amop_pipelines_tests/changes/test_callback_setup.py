"""Registering AMOP's receiver for an account's callbacks is part of setting the account up: a
command and a job, with the username and password ThingSpace will echo in every callback."""

import dagster as dg
import pytest
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.defs.changes.jobs import register_callbacks_job
from amop_pipelines.defs.changes.resources import CallbackReceiver
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials_env
from amop_pipelines.demo.catalog import JASPER, THINGSPACE
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.settings import database_url
from amop_pipelines.simulator.server import running_simulator

RECEIVER = "https://amop.example.net/callbacks/thingspace"


@pytest.fixture
def account(amop_env, monkeypatch):
    """A seeded installation whose carriers are the simulator, credentials in the environment."""
    url = database_url()
    migrate.upgrade(url)
    seed_demo(make_engine(url), devices=200)
    with running_simulator(new_state(devices=200)) as sim:
        monkeypatch.setenv("AMOP_CARRIER_BASE_URL", sim.base_url)
        for name, value in simulator_credentials_env().items():
            monkeypatch.setenv(name, value)
        yield sim, url


def test_the_register_command_points_thingspaces_services_at_the_receiver(account, monkeypatch):
    sim, _ = account
    monkeypatch.setenv("AMOP_CALLBACK_SECRET", "echoed-callback-secret")
    result = CliRunner().invoke(main, ["callbacks", "register", "--url", RECEIVER])
    assert result.exit_code == 0, result.output
    assert f"{THINGSPACE.name}: CarrierService, DeviceUsage -> {RECEIVER}" in result.output
    assert f"{JASPER.name}: no callbacks (answers at once)" in result.output
    registered = sim.state.callbacks
    assert set(registered) == {"CarrierService", "DeviceUsage"}
    assert all(
        (r.url, r.username, r.password) == (RECEIVER, "amop", "echoed-callback-secret")
        for r in registered.values()
    )
    assert "echoed-callback-secret" not in result.output


def test_the_register_command_without_a_secret_registers_nothing(account, monkeypatch):
    sim, _ = account
    monkeypatch.delenv("AMOP_CALLBACK_SECRET", raising=False)
    result = CliRunner().invoke(main, ["callbacks", "register", "--url", RECEIVER])
    assert result.exit_code != 0 and "set AMOP_CALLBACK_SECRET" in result.output
    assert sim.state.callbacks == {}
    result = CliRunner().invoke(
        main,
        ["callbacks", "register", "--url", RECEIVER, "--provider", "Nobody"],
        env={"AMOP_CALLBACK_SECRET": "sixteen-characters"},
    )
    assert result.exit_code != 0 and "no service provider 'Nobody'" in result.output


def test_the_register_job_sets_up_one_account(account):
    sim, url = account
    with dg.instance_for_test() as instance:
        run = register_callbacks_job.execute_in_process(
            instance=instance,
            run_config={
                "ops": {
                    "register_carrier_callbacks": {"config": {"url": RECEIVER, "provider": THINGSPACE.name}}
                }
            },
            resources={
                "amop_db": AmopDatabase(url=url),
                "carriers": simulator_carriers(sim.base_url),
                "callback_receiver": CallbackReceiver(username="amop-ops", secret="job-secret"),
            },
        )
    assert run.success and run.output_for_node("register_carrier_callbacks") == 2
    assert {(r.name, r.username, r.password) for r in sim.state.callbacks.values()} == {
        ("CarrierService", "amop-ops", "job-secret"),
        ("DeviceUsage", "amop-ops", "job-secret"),
    }
