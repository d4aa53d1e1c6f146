"""A Jasper device sync of 20,000 devices that is killed half way continues where it stopped:
the rerun reads only the remaining pages (counted at the simulator) and the device table ends
complete; with a page limit, the account is read over several runs."""

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from amop_pipelines.carriers.jasper import PAGE_SIZE, JasperClient
from amop_pipelines.db.models import Device, DeviceStaging, ServiceProvider, SyncProgress
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.simulator.state import Credentials
from amop_pipelines.sync.resumable import stage_device_pages
from amop_pipelines.sync.upsert import upsert_devices

from ..carriers.conftest import FAST

CREDS = Credentials()
SYNC = """
import sys
from dataclasses import replace
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.db.engine import make_engine
from amop_pipelines.sync.resumable import stage_device_pages
from amop_pipelines_tests.carriers.conftest import FAST
url, base, provider_id, user, key = sys.argv[1:]
client = JasperClient(base, user, key, replace(FAST, requests_per_second=40))
stage_device_pages(make_engine(url), int(provider_id), client.iter_device_pages, None)
"""


@pytest.fixture(scope="module")
def carrier():
    state = new_state(devices=33_400, seed=5)
    with running_simulator(state) as sim:
        sim.set_faults("jasper", rate_limit_per_second=0, max_in_flight=0)
        yield sim, sum(1 for d in state.devices.values() if d.carrier == "jasper")


def _page_requests(sim) -> int:
    return sum(1 for c in sim.state.captured if c["path"].endswith("/rws/api/v1/devices"))


def _jasper(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(ServiceProvider.id).where(ServiceProvider.integration == "jasper"))


@pytest.mark.timeout(300)
def test_a_killed_sync_continues_from_its_next_page_and_the_device_table_is_complete(
    carrier, sqlite_url, sqlite_engine
):
    sim, devices = carrier
    assert devices >= 20_000
    pages = -(-devices // PAGE_SIZE)
    seed_demo(sqlite_engine, devices=50)
    provider_id = _jasper(sqlite_engine)
    sim.state.captured.clear()
    sync = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SYNC,
            sqlite_url,
            sim.jasper_url,
            str(provider_id),
            CREDS.jasper_username,
            CREDS.jasper_api_key,
        ]
    )
    done_at_kill = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sync.poll() is None:
        with sqlite_engine.connect() as connection:
            done_at_kill = connection.scalar(sa.select(SyncProgress.pages_done)) or 0
        if done_at_kill >= pages // 2:
            sync.kill()
            break
        time.sleep(0.05)
    sync.wait(timeout=30)
    assert sync.returncode == -9, "the sync finished before it could be killed"
    with sqlite_engine.connect() as connection:
        recorded = connection.execute(sa.select(SyncProgress.next_page, SyncProgress.pages_done)).one()
    first_run = _page_requests(sim)
    assert recorded.pages_done >= pages // 2 and first_run >= recorded.pages_done

    sim.state.captured.clear()
    client = JasperClient(sim.jasper_url, CREDS.jasper_username, CREDS.jasper_api_key, FAST)
    staged = stage_device_pages(sqlite_engine, provider_id, client.iter_device_pages, None)
    assert staged.complete and staged.resumed_from == recorded.next_page
    assert _page_requests(sim) == pages - recorded.pages_done  # only the remaining pages were read
    with sqlite_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(SyncProgress)) == 0
        staged_rows = connection.scalar(
            sa.select(sa.func.count())
            .select_from(DeviceStaging)
            .where(DeviceStaging.service_provider_id == provider_id)
        )
    assert staged_rows == devices
    upsert_devices(sqlite_engine, provider_id)
    with sqlite_engine.connect() as connection:
        known = connection.scalar(
            sa.select(sa.func.count()).select_from(Device).where(Device.service_provider_id == provider_id)
        )
    assert known >= devices  # every device the carrier lists is in the device table


def test_a_page_limit_splits_the_sync_over_runs_each_reading_its_share(carrier, sqlite_engine):
    sim, devices = carrier
    pages = -(-devices // PAGE_SIZE)
    seed_demo(sqlite_engine, devices=50)
    provider_id = _jasper(sqlite_engine)
    client = JasperClient(sim.jasper_url, CREDS.jasper_username, CREDS.jasper_api_key, FAST)
    runs = []
    while True:
        sim.state.captured.clear()
        result = stage_device_pages(sqlite_engine, provider_id, client.iter_device_pages, None, max_pages=150)
        runs.append(_page_requests(sim))
        if result.complete:
            break
    assert runs == [150, 150, pages - 300] and result.rows == devices
