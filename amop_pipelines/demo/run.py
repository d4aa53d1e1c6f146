"""`amop demo`: the main job on the embedded defaults, recorded in a persistent Dagster instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from amop_pipelines.settings import database_url


@dataclass
class DemoResult:
    success: bool
    run_id: str
    devices: int


def run_demo(devices: int = 5000, seed: int = 7, echo: Callable[[str], None] = print) -> DemoResult:

    import dagster as dg

    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import Device
    from amop_pipelines.defs.assets.fleet import fleet_summary
    from amop_pipelines.defs.resources.database import database_from_env
    from amop_pipelines.demo.seed import seed_demo
    from amop_pipelines.instance import persistent_instance

    url = database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        existing = connection.scalar(select(func.count(Device.id))) or 0
    if existing == 0:
        report = seed_demo(engine, devices=devices, seed=seed)
        echo(f"seeded {report.devices_in_fleet:,} demo devices in {report.seconds:.1f} s")
    with persistent_instance() as instance:
        result = dg.materialize(
            [fleet_summary], instance=instance, resources={"amop_db": database_from_env()}
        )
        summary = result.asset_materializations_for_node("fleet_summary")[0].metadata
    count = summary["devices"].value
    echo(f"fleet: {count:,} devices across {summary['providers'].value} providers")
    echo(f"run {result.run_id} recorded; inspect it with: dagster dev -w workspace.yaml")
    return DemoResult(result.success, result.run_id, int(count))
