"""Dagster instance storage chosen by the environment, so one `dagster.yaml` serves both setups.

`DAGSTER_PG_URL` set: runs, event logs and schedules live in PostgreSQL (dagster-postgres).
Unset: a persistent SQLite store under `$DAGSTER_HOME/storage`, or under the AMOP data folder
when `DAGSTER_HOME` is unset too (as with a bare `dagster dev`), so no run is ever lost to a
temporary folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from amop_pipelines.settings import DAGSTER_PG_URL_ENV, dagster_home, dagster_storage_dir, first_set


def _with_psycopg2(url: str) -> str:
    """dagster-postgres speaks psycopg2 (it NOTIFYs with psycopg2's parameter style), while
    SQLAlchemy 2.1 maps a bare postgresql:// URL to psycopg 3: name the driver explicitly."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in ("postgresql", "postgres") else url


class EnvSelectedStorage(DagsterStorage, ConfigurableClass):
    """Never instantiated: `from_config_value` returns the PostgreSQL or SQLite storage itself."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"postgres_url_env": dg.Field(str, is_required=False, default_value=DAGSTER_PG_URL_ENV)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: dict[str, Any]
    ) -> DagsterStorage:
        url = first_set(config_value.get("postgres_url_env", DAGSTER_PG_URL_ENV))
        if url:
            from dagster_postgres import DagsterPostgresStorage

            return DagsterPostgresStorage(postgres_url=_with_psycopg2(url), inst_data=inst_data)
        return DagsterSqliteStorage.from_local(str(dagster_storage_dir()), inst_data=inst_data)


PROJECT_ROOT = Path(__file__).resolve().parents[1]


def persistent_instance() -> dg.DagsterInstance:
    """The instance the `amop` commands record their runs in, the one `dagster dev` shows.

    With `DAGSTER_HOME` set, that instance. Without it, a home in the AMOP data folder, configured
    by the project's `dagster.yaml` when this is a checkout (so `DAGSTER_PG_URL` still applies).
    """
    if dagster_home() is not None:
        return dg.DagsterInstance.get()
    home = dagster_storage_dir().parent
    home.mkdir(parents=True, exist_ok=True)
    config_dir = PROJECT_ROOT if (PROJECT_ROOT / "dagster.yaml").exists() else home
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), config_dir=str(config_dir)))
