"""`amop demo`: the whole chain on the embedded defaults, recorded in a persistent Dagster instance.

Seeds the demo fleet when the database is empty, serves the same fleet from the carrier simulator
on a free loopback port, and runs the code location's own `optimization_job` (the sync, the
optimization and their asset checks) for each provider's current billing month, so that the runs
are there to inspect, and to re-execute, in the UI (`amop ui`) afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from sqlalchemy import func, select

from amop_pipelines.settings import database_url


@dataclass
class ProviderOutcome:
    provider: str
    billing_month: str
    run_id: str
    savings_line: str
    report_path: str


@dataclass
class DemoResult:
    success: bool
    devices: int
    outcomes: list[ProviderOutcome] = field(default_factory=list)


def _materialized(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Each asset the run materialized: its metadata's values, by asset name."""
    found = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.event_specific_data.materialization  # type: ignore[union-attr]
        found[materialization.asset_key.path[-1]] = {k: v.value for k, v in materialization.metadata.items()}
    return found


def run_demo(devices: int = 5000, seed: int = 7, echo: Callable[[str], None] = print) -> DemoResult:
    from sqlalchemy.orm import Session

    from amop_pipelines.changes.callbacks import register_receiver, running_receiver
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import Device, ServiceProvider
    from amop_pipelines.defs.shared.database import database_from_env
    from amop_pipelines.defs.shared.launch import current_billing_month, month_partition
    from amop_pipelines.defs.shared.notifier import notifier_from_env
    from amop_pipelines.defs.shared.partitions import providers
    from amop_pipelines.demo.carriers import simulator_carriers
    from amop_pipelines.demo.code_location import code_location_job, run_in_code_location
    from amop_pipelines.demo.seed import seed_demo
    from amop_pipelines.demo.simulated_fleet import new_state
    from amop_pipelines.instance import persistent_instance
    from amop_pipelines.simulator.server import running_simulator
    from amop_pipelines.sync.providers import provider_key

    url = database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        existing = connection.scalar(select(func.count(Device.id))) or 0
    if existing == 0:
        report = seed_demo(engine, devices=devices, seed=seed)
        echo(f"seeded {report.devices_in_fleet:,} demo devices in {report.seconds:.1f} s")
        existing = report.devices_in_database
    with Session(engine) as session:
        active = session.scalars(select(ServiceProvider).where(ServiceProvider.is_active)).all()
        session.expunge_all()
    result = DemoResult(success=True, devices=existing)
    echo(f"starting the carrier simulator with the same {existing:,} SIMs")
    secret = secrets.token_urlsafe(24)  # the receiver's for this demo only
    with (
        running_simulator(new_state(devices=existing, seed=seed)) as sim,
        running_receiver(engine, secret) as receiver_url,
        persistent_instance() as instance,
    ):
        carriers = simulator_carriers(sim.base_url)
        # as an operator sets an account up: ThingSpace calls back AMOP's receiver (bulk usage too)
        register_receiver(engine, carriers.for_provider, receiver_url, secret)
        resources = {
            "amop_db": database_from_env(),
            "carriers": carriers,
            "notifier": notifier_from_env(),
        }
        for provider in active:
            month = current_billing_month(provider)
            echo(f"{provider.name}: syncing and optimizing billing month {month} ...")
            instance.add_dynamic_partitions(providers.name, [provider_key(provider.name)])
            run = run_in_code_location(
                code_location_job("optimization_job", resources),
                instance,
                month_partition(provider, month),
                run_config={
                    "ops": {"device_staging": {"config": {"full_sync": True}}},
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},  # the UI has the rest
                },
                tags={"amop/provider": provider_key(provider.name)},
            )
            if not run.is_success:
                result.success = False
                echo(f"{provider.name}: the run {run.run_id} failed; see it with `amop ui`")
                continue
            shown = _materialized(instance, run.run_id)
            totals, path = shown["winning_results"], shown["optimization_report"]["path"]
            costs = f"{totals['cost_before']:.2f} -> {totals['cost_after']:.2f}"
            savings = f"{totals['savings']:.2f} ({totals['savings_percent']:.2f}%)"
            line = f"{provider.name} {month}: savings {savings}, monthly cost {costs}"
            echo(line)
            echo(f"report: {path}")
            result.outcomes.append(ProviderOutcome(provider.name, month, run.run_id, line, path))
        summary = run_in_code_location(
            code_location_job("fleet_summary_job", resources),
            instance,
            None,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            tags={},
        )
        if summary.is_success:
            counted = _materialized(instance, summary.run_id)["fleet_summary"]["devices"]
            echo(f"fleet summary: {counted:,} devices in the AMOP database")
        else:
            result.success = False
            echo(f"the fleet summary run {summary.run_id} failed; see it with `amop ui`")
    echo("inspect the runs, re-execute them and run the checks again with: amop ui")
    return result
