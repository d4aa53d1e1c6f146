"""`amop ui`: the Dagster UI on the project's persistent instance, with what the demo accounts need.

A bare `dagster dev` without `DAGSTER_HOME` keeps compute logs in a temporary home that vanishes on
exit, and nothing starts the carrier simulator its runs call. This sets `DAGSTER_HOME` to the home
`amop demo` records its runs in (its `dagster.yaml` the project's), and, unless the accounts reach
real carriers (`AMOP_CARRIER_BASE_URL` set), serves the demo fleet from the simulator with a
callback receiver registered for ThingSpace, for as long as the UI runs.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from amop_pipelines import settings
from amop_pipelines.instance import PROJECT_ROOT


def ui_home() -> Path:
    """`DAGSTER_HOME` when set, else the home `amop demo` and the other commands record runs in,
    configured by the project's `dagster.yaml`."""
    chosen = settings.dagster_home()
    home = chosen or settings.dagster_storage_dir().parent
    home.mkdir(parents=True, exist_ok=True)
    project_config = PROJECT_ROOT / "dagster.yaml"
    # a home of the user's keeps its own settings; ours follows the project's, as `amop demo` does
    if project_config.exists() and (chosen is None or not (home / "dagster.yaml").exists()):
        shutil.copyfile(project_config, home / "dagster.yaml")
    return home


@contextlib.contextmanager
def demo_carriers(seed: int, echo: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """The simulator serving the database's demo fleet and the receiver its callbacks reach: the
    environment that points the code location's runs at them."""
    from sqlalchemy import func, select

    from amop_pipelines.changes.callbacks import register_receiver, running_receiver
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import Device
    from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials_env
    from amop_pipelines.demo.simulated_fleet import new_state
    from amop_pipelines.simulator.server import running_simulator

    url = settings.database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        devices = connection.scalar(select(func.count(Device.id))) or 0
    if not devices:
        echo("the database holds no devices yet: run `amop demo` first to seed and run the demo fleet")
    secret = secrets.token_urlsafe(24)
    with (
        running_simulator(new_state(devices=max(devices, 1), seed=seed)) as sim,
        running_receiver(engine, secret) as receiver_url,
    ):
        register_receiver(engine, simulator_carriers(sim.base_url).for_provider, receiver_url, secret)
        echo(f"carrier simulator at {sim.base_url} ({devices:,} demo SIMs), callbacks at {receiver_url}")
        yield {settings.CARRIER_BASE_URL_ENV: sim.base_url, **simulator_credentials_env()}
    engine.dispose()


def dagster_dev_command(host: str, port: int) -> list[str]:
    """`dagster dev` on the project's workspace (the installed package's definitions outside a checkout)."""
    workspace = PROJECT_ROOT / "workspace.yaml"
    target = ["-w", str(workspace)] if workspace.exists() else ["-m", "amop_pipelines.definitions"]
    return [sys.executable, "-m", "dagster", "dev", *target, "-h", host, "-p", str(port)]


def open_ui(host: str, port: int, seed: int, echo: Callable[[str], None] = print) -> int:
    """Serve the UI until interrupted; the exit code of `dagster dev`."""
    home = ui_home()
    env = settings.child_environment(**{settings.DAGSTER_HOME_ENV: str(home)})
    echo(f"Dagster instance: {home} (runs, logs and outputs are kept across restarts)")
    with contextlib.ExitStack() as stack:
        if settings.is_set(settings.CARRIER_BASE_URL_ENV):
            echo(f"carriers at {settings.get(settings.CARRIER_BASE_URL_ENV)} (AMOP_CARRIER_BASE_URL)")
        else:
            env.update(stack.enter_context(demo_carriers(seed, echo)))
        echo(f"Dagster UI at http://{host}:{port} (Ctrl-C stops it)")
        # in the caller's process group: Ctrl-C (or a signal to the group) reaches dagster dev too
        process = subprocess.Popen(dagster_dev_command(host, port), cwd=PROJECT_ROOT, env=env)
        previous = signal.signal(signal.SIGTERM, _interrupted)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            try:
                return process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the simulator, the receiver and dagster dev stop in order."""
    raise KeyboardInterrupt
