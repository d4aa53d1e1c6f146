"""A demo fleet in SQLite, the simulator over real HTTP, and (for ThingSpace's asynchronous
answers) the callback receiver serving on a port of its own."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callbacks import running_receiver
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import CarrierCallback, ServiceProvider
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.settings import database_url
from amop_pipelines.simulator.server import running_simulator, start_simulator_process

SECRET = "s3cret-callback-token"
CALLBACK_USERNAME = "amop-callbacks"
FLEET = 400


@pytest.fixture
def world(sqlite_engine, tmp_path):
    seed_demo(sqlite_engine, devices=FLEET)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
    with running_simulator(new_state(devices=FLEET)) as sim:
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
        carriers = simulator_carriers(sim.base_url)

        def client_for(provider):
            client = carriers.for_provider(provider)
            client.http.policy = replace(client.http.policy, backoff_initial_seconds=0.01, max_attempts=3)
            return client

        yield sim, sqlite_engine, client_for, tmp_path


@dataclass
class AsyncWorld:
    sim: Any
    engine: sa.Engine
    client_for: Any
    tmp_path: Path
    callback_url: str

    def wait_for_callbacks(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callbacks_stored(self.engine) >= count:
                return
            time.sleep(0.05)


@contextlib.contextmanager
def serving_receiver(engine: sa.Engine, client_for) -> Iterator[str]:
    """The callback receiver on a free port, registered with ThingSpace for action outcomes and
    usage; ThingSpace echoes the registered username and password in every callback body."""
    with running_receiver(engine, SECRET, CALLBACK_USERNAME) as url:
        with sa.orm.Session(engine) as session:
            provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="thingspace")).one()
        client_for(provider).register_callbacks(url, CALLBACK_USERNAME, SECRET)
        yield url


def callbacks_stored(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(CarrierCallback))


@pytest.fixture
def async_world(world):
    """The world above, with ThingSpace calling back the receiver."""
    sim, engine, client_for, tmp_path = world
    with serving_receiver(engine, client_for) as url:
        yield AsyncWorld(sim, engine, client_for, tmp_path, url)


def assert_audited(engine: sa.Engine, request_id: str, requested_by: str) -> None:
    """The request's audit trail: filed by its requester, each item's attempts and its end, the
    request's own end; who, what, before and after on every row."""
    from amop_pipelines.db.models import AuditLog, ChangeItem, ChangeRequest

    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(AuditLog).where(AuditLog.request_id == request_id).order_by(AuditLog.id)
        ).all()
        items = connection.execute(
            sa.select(ChangeItem.id, ChangeItem.state)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .where(ChangeRequest.request_id == request_id)
        ).all()
    assert rows[0].action == "created" and rows[0].actor == requested_by
    assert all(row.actor and row.at and row.after is not None for row in rows)
    for item in items:
        trail = [row for row in rows if row.entity_type == "change_item" and row.entity_id == str(item.id)]
        assert any(row.action == "attempt" for row in trail), item
        assert trail[-1].after.get("state") == item.state, (item, trail[-1])
    final = [row for row in rows if row.entity_type == "change_request"][-1]
    assert final.after["state"] in ("completed", "completed_with_errors")


@pytest.fixture
def simulator_process():
    """The simulator in a process of its own, so that it outlives the killed run (crash tests)."""
    from amop_pipelines_tests.changes.crashes import FLEET as CRASH_FLEET

    process, base, _ = start_simulator_process(
        CRASH_FLEET, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def fleet(amop_env):
    """A seeded embedded database; returns some ICCIDs of each kind the tests need."""
    engine = make_engine(database_url())
    from amop_pipelines.db import migrate

    migrate.upgrade(database_url())
    seed_demo(engine, devices=300)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT d.iccid, cp.name, rp.plan_code FROM device d "
                "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "WHERE cp.name = 'CP-CORE' ORDER BY d.iccid"
            )
        ).all()
    yield engine, rows
