import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines.db.models import CarrierCallback, Notification, ServiceProvider
from amop_pipelines.definitions import defs
from amop_pipelines.defs.fleet.assets import fleet_summary
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.demo.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_with_every_asset_resolvable():
    assert defs.resolve_asset_graph().get_all_asset_keys()
    defs.resolve_implicit_global_asset_job_def()


def _dg(*args: str) -> subprocess.CompletedProcess:
    dg_cli = Path(sys.executable).with_name("dg")
    return subprocess.run([str(dg_cli), *args], cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_dg_lists_every_definition_of_the_code_location_and_checks_them(amop_env):
    """The project is a dg project (pyproject's [tool.dg]): `dg list defs` shows what the one
    Definitions object holds, and `dg check defs` loads and validates it."""
    listed = _dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    found = json.loads(listed.stdout)
    repository = defs.get_repository_def()
    assert {a["asset_key"] for a in found["assets"]} == {
        k.to_user_string() for k in repository.asset_graph.get_all_asset_keys()
    }
    assert {j["name"] for j in found["jobs"]} == {j for j in repository.job_names if not j.startswith("__")}
    assert {s["name"] for s in found["sensors"]} == {s.name for s in repository.sensor_defs}
    assert {c["name"] for c in found["asset_checks"]} >= {
        "device_plans_known",
        "comm_groups_within_plan_limit",
    }
    assert {r["name"] for r in found["resources"]} == {
        "amop_db",
        "carriers",
        "notifier",
        "callback_receiver",
        "io_manager",
    }
    checked = _dg("check", "defs")
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr


def test_dagster_validates_the_workspace(amop_env):
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_fleet_summary_counts_what_the_database_holds(sqlite_url, sqlite_engine):
    seed_demo(sqlite_engine, devices=1200, seed=2)
    result = dg.materialize([fleet_summary], resources={"amop_db": AmopDatabase(url=sqlite_url)})
    assert result.success
    metadata = result.asset_materializations_for_node("fleet_summary")[0].metadata
    assert metadata["devices"].value == 1200
    assert metadata["providers"].value == 2
    assert "| CP-CORE |" in metadata["preview"].value


def test_a_materialization_with_dagster_pg_url_leaves_its_run_in_postgresql(
    postgres_url, sqlite_url, sqlite_engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    seed_demo(sqlite_engine, devices=100, seed=1)

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            [fleet_summary], instance=instance, resources={"amop_db": AmopDatabase(url=sqlite_url)}
        )
    assert result.success

    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        run_ids = set(connection.scalars(sa.text("SELECT run_id FROM runs")))
        events = connection.scalar(
            sa.text("SELECT count(*) FROM event_logs WHERE run_id = :run"), {"run": result.run_id}
        )
    engine.dispose()
    assert result.run_id in run_ids
    assert events > 0
    assert not (tmp_path / "storage" / "runs.db").exists()


def test_run_config_out_of_its_bounds_fails_the_step_naming_the_field(sqlite_url):
    """Config ranges are declared on the fields (shown in the launchpad with their descriptions);
    a value outside them stops the run before anything is read or written."""
    from amop_pipelines.defs.changes.jobs import change_request_job

    result = change_request_job.execute_in_process(
        run_config={"ops": {"start_change_round": {"config": {"request_id": "none", "batch_size": 0}}}},
        resources={"amop_db": AmopDatabase(url=sqlite_url), "carriers": None, "notifier": None},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "batch_size" in message and "greater than or equal to 1" in message
    fields = change_request_job.graph.node_named(
        "start_change_round"
    ).definition.config_schema.config_type.fields
    assert "Celery workers" in fields["batch_size"].description


def test_every_job_and_sensor_explains_itself_in_the_ui():
    """What it watches, when it fires, what it launches: none shows a blank description."""
    from amop_pipelines.definitions import defs as code_location

    repository = code_location.get_repository_def()
    jobs = [job for job in repository.get_all_jobs() if not job.name.startswith("__")]  # Dagster's own
    assert [job.name for job in jobs if not (job.description or "").strip()] == []
    assert [sensor.name for sensor in repository.sensor_defs if not (sensor.description or "").strip()] == []
    assert len(jobs) >= 10 and len(repository.sensor_defs) >= 7


def _everything(engine) -> dict[str, list]:
    """Every row of every table of the AMOP database."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(map(repr, connection.execute(sa.select(table)).all()))
            for name, table in tables.tables.items()
        }


def test_previewing_any_sensors_tick_writes_nothing(sqlite_url, sqlite_engine, tmp_path):
    """What the UI's "Preview tick result" does (the sensor's function, its requests not launched),
    with work for every sensor waiting: a pending change request, a failed mail, new callbacks.
    Sensors decide and request; they write nothing, to any table."""
    from amop_pipelines.changes.requests import submit_file

    seed_demo(sqlite_engine, devices=300)
    with sqlite_engine.connect() as connection:
        iccid = connection.scalar(sa.text("SELECT iccid FROM device WHERE status = 'ACTIVATED' LIMIT 1"))
    changes = tmp_path / "plans.csv"
    changes.write_text(f"iccid,rate_plan\n{iccid},J-POOL-20MB\n")
    submit_file(sqlite_engine, "change_carrier_rate_plan", changes, "alice")
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with sa.orm.Session(sqlite_engine) as session, session.begin():
        session.add(
            Notification(
                kind="error",
                subject="s",
                recipients="ops@example.com",
                body="b",
                status="failed",
                attempts=1,
                created_at=long_ago,
                next_attempt_at=long_ago,
            )
        )
        session.add(CarrierCallback(carrier_request_id="r-1", dedupe_key="k-1", status="Success", payload={}))
    before = _everything(sqlite_engine)
    previewed = []
    with dg.instance_for_test() as instance:
        for sensor in defs.get_repository_def().sensor_defs:
            if isinstance(sensor, dg.RunStatusSensorDefinition):
                continue  # reacts to a run's end: the UI offers no preview of it
            resources = {"amop_db": AmopDatabase(url=sqlite_url)}
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                sensor(context)
            previewed.append(sensor.name)
    assert {"change_requests_sensor", "failed_mail_sensor", "callback_reconciliation_sensor"} <= set(
        previewed
    )
    assert _everything(sqlite_engine) == before


def test_partition_months_reach_back_to_the_oldest_month_a_carrier_still_answers():
    from amop_pipelines.defs.shared.partitions import first_partition_month

    assert first_partition_month("2026-12", None) == "2026-07"  # ThingSpace answers five closed periods
    assert first_partition_month("2027-02", None) == "2026-09"
    assert first_partition_month("2026-12", "2025-03") == "2025-03"  # the first synced month is kept
    assert first_partition_month("2026-12", "2026-11") == "2026-07"


def _first_partition(env: dict[str, str]) -> str:
    code = (
        "from amop_pipelines.definitions import defs\n"
        "from amop_pipelines.defs.shared.partitions import billing_months\n"
        "print(billing_months.get_first_partition_key())"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_code_location_starts_its_months_at_the_first_synced_month_of_the_amop_database(
    engine, migrated_url, tmp_path
):
    """No fixed 2025-01 with dozens of months that can never hold anything: the months begin at the
    first month any account was synced (read from the AMOP database, SQLite or PostgreSQL), or at
    the carriers' reach for a database with none yet, which loading the code location never creates."""
    from amop_pipelines.defs.shared.partitions import first_partition_month
    from amop_pipelines.sync.periods import billing_period_id

    seed_demo(engine, devices=20)
    with Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
        session.expunge(provider)
    billing_period_id(engine, provider, "2025-03")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AMOP_", "DAGSTER_"))}
    synced = _first_partition(base | {"AMOP_DATABASE_URL": migrated_url, "AMOP_DATA_DIR": str(tmp_path)})
    assert synced == "2025-03-01"
    empty = tmp_path / "fresh"
    fresh = _first_partition(base | {"AMOP_DATA_DIR": str(empty)})
    assert fresh == first_partition_month(f"{datetime.now(UTC):%Y-%m}", None) + "-01"
    assert not (empty / "amop.sqlite3").exists()
