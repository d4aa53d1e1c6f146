"""`amop changes submit` on large files, on SQLite and PostgreSQL: a 1,000,000-row file (over the
row limit: refused naming it) and a valid file at the limit (accepted: validated and filed),
each as the `amop` command a user runs, with its wall time and peak memory.

Run: python bench/change_file.py [--rows 1000000] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, last line of output) of one command."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    errors = [line for line in done.stderr.strip().splitlines() if not line.startswith("Command exited")]
    peak_kb = int(errors[-1])
    output = (done.stdout + "\n".join(errors[:-1])).strip().splitlines()
    return seconds, peak_kb / 1024, done.returncode, output[-1] if output else ""


def _database(kind: str, folder: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'amop.sqlite3'}", None
    name = f"amop_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    from amop_pipelines.changes.csvfile import MAX_ROWS
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.demo.seed import seed_demo

    amop = str(Path(sys.executable).with_name("amop"))
    print("| database | file rows | file MB | outcome | seconds | peak MB |")
    print("|---|---:|---:|---|---:|---:|")
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            url, drop = _database(kind, folder)
            try:
                migrate.upgrade(url)
                engine = make_engine(url)
                seed_demo(engine, devices=int(MAX_ROWS * 1.6))
                with engine.connect() as connection:
                    active = connection.scalars(
                        sa.text("SELECT iccid FROM device WHERE status IN ('ACTIVATED', 'active') LIMIT :n"),
                        {"n": MAX_ROWS},
                    ).all()
                engine.dispose()
                if len(active) < MAX_ROWS:
                    raise SystemExit(f"only {len(active)} active devices to suspend")
                files = {
                    "valid, at the row limit": (folder / "valid.csv", active),
                    "over the row limit": (
                        folder / "large.csv",
                        [f"8901260{n:012d}" for n in range(args.rows)],
                    ),
                }
                env = {**os.environ, "AMOP_DATA_DIR": str(folder / "data"), "AMOP_DATABASE_URL": url}
                for label, (path, iccids) in files.items():
                    path.write_text("iccid,status\n" + "".join(f"{i},Inactive\n" for i in iccids))
                    seconds, peak, code, last = _measured(
                        [
                            amop,
                            "changes",
                            "submit",
                            "update_device_status",
                            str(path),
                            "--requested-by",
                            "bench",
                        ],
                        env,
                    )
                    outcome = f"{label}: exit {code}, {last[:90]}"
                    print(
                        f"| {kind} | {len(iccids):,} | {path.stat().st_size / 1e6:.1f} | {outcome} "
                        f"| {seconds:.1f} | {peak:,.0f} |",
                        flush=True,
                    )
            finally:
                if drop is not None:
                    drop()


if __name__ == "__main__":
    main()
