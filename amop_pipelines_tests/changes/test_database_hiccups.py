"""A change run (the Dagster job the sensor launches) on PostgreSQL while the database drops its
connections again and again, as a failover or an administrator's restart does: the run completes,
every item applied once."""

import threading

import dagster as dg
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.requests import status, submit_file
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.changes.jobs import change_request_job
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator

FLEET, ITEMS = 300, 40


class ConnectionKiller(threading.Thread):
    """Terminates every other session of the database every `every` seconds."""

    def __init__(self, url: str, every: float = 0.1):
        super().__init__(daemon=True)
        self.admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        self.every, self.kills, self.stopping = every, 0, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            with self.admin.connect() as connection:
                self.kills += connection.scalar(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )

    def stop(self) -> int:
        self.stopping.set()
        self.join(timeout=10)
        self.admin.dispose()
        return self.kills


@pytest.mark.timeout(300)
def test_a_change_run_completes_while_the_database_drops_its_connections(postgres_url, tmp_path):
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    seed_demo(engine, devices=FLEET)
    with engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
        rows = connection.execute(
            sa.text(
                "SELECT d.iccid, rp.plan_code FROM device d "
                "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
                "JOIN communication_plan cp ON cp.id = d.communication_plan_id "
                "WHERE cp.name = 'CP-CORE' AND d.status = 'ACTIVATED' ORDER BY d.iccid LIMIT :n"
            ),
            {"n": ITEMS},
        ).all()
    path = tmp_path / "plans.csv"
    path.write_text(
        "iccid,rate_plan\n"
        + "".join(f"{i},{'J-POOL-20MB' if p != 'J-POOL-20MB' else 'J-POOL-5MB'}\n" for i, p in rows)
    )
    request_id = submit_file(engine, "change_carrier_rate_plan", path, "alice")
    with running_simulator(new_state(devices=FLEET)) as sim:
        sim.set_faults("jasper", rate_limit_per_second=0, max_in_flight=0)
        sim.set_faults(
            "jasper", route="/rws/api/v1/devices/", hang_rate=1.0, hang_seconds=0.02
        )  # slower calls
        resources = {
            "amop_db": AmopDatabase(url=postgres_url),
            "carriers": simulator_carriers(sim.base_url),
            "notifier": Notifier(outbox_dir=str(tmp_path / "outbox")),
        }
        killer = ConnectionKiller(postgres_url)
        with dg.instance_for_test() as instance:
            killer.start()
            try:
                run = change_request_job.execute_in_process(
                    run_config={"ops": {"start_change_round": {"config": {"request_id": request_id}}}},
                    instance=instance,
                    resources=resources,
                )
            finally:
                kills = killer.stop()
        edits = [op for op in sim.operations() if op["operation"] == "edit"]
    report = status(engine, request_id)
    engine.dispose()
    assert kills >= 10  # the database really dropped sessions under the run
    assert run.success and run.output_for_node("finish_change_round") == "completed"
    assert report.state == "completed" and report.items_by_state == {"completed": ITEMS}
    assert sorted(op["iccid"] for op in edits) == sorted(i for i, _ in rows)  # each applied once
