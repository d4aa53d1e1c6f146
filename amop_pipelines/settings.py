"""Where AMOP keeps its files and which databases it talks to.

Every path and URL the project uses is decided here, from environment variables, so that a
fresh clone works with no configuration and a deployment changes only its environment.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "AMOP_DATA_DIR"
DATABASE_URL_ENV = "AMOP_DATABASE_URL"
DAGSTER_PG_URL_ENV = "DAGSTER_PG_URL"


def data_dir() -> Path:
    """The folder for the embedded database, reports and the mail outbox (`./data` by default)."""
    path = Path(os.environ.get(DATA_DIR_ENV) or "data").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`AMOP_DATABASE_URL` when set (PostgreSQL in production), else the embedded SQLite file."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{data_dir() / 'amop.sqlite3'}"


def dagster_storage_dir() -> Path:
    """Dagster's SQLite storage: under `DAGSTER_HOME` when set, else inside the data folder."""
    home = os.environ.get("DAGSTER_HOME")
    base = Path(home).expanduser().resolve() if home else data_dir() / "dagster"
    return base / "storage"


def progress_webhook_url() -> str | None:
    """Where session milestones are posted besides the database (AMOP_PROGRESS_WEBHOOK_URL)."""
    return os.environ.get("AMOP_PROGRESS_WEBHOOK_URL") or None
