import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from amop_pipelines.definitions import defs
from amop_pipelines.defs.assets.fleet import fleet_summary
from amop_pipelines.defs.resources.database import AmopDatabase
from amop_pipelines.demo.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_with_every_asset_resolvable():
    assert defs.resolve_asset_graph().get_all_asset_keys()
    defs.resolve_implicit_global_asset_job_def()


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
