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


# The code location as workspace.yaml loads it: a run labelled with it is listed under its job in
# the UI (Dagster's `.dagster/repository` tag: repository @ location).
CODE_LOCATION = "__repository__@amop_pipelines.definitions"
REPOSITORY_LABEL_TAG = ".dagster/repository"


def code_location_job(name: str, resources: dict[str, Any]) -> dg.JobDefinition:
    """The code location's own job `name`, its assets' checks included, on these resources (the
    demo's simulator and database): its runs carry the job's name, so the UI lists them under the
    job and re-executes them in the code location."""
    from amop_pipelines.definitions import defs

    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={**(defs.resources or {}), **resources},
    ).resolve_job_def(name)


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
            run = code_location_job("optimization_job", resources).execute_in_process(
                partition_key=month_partition(provider, month),
                instance=instance,
                run_config={
                    "ops": {"device_staging": {"config": {"full_sync": True}}},
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},  # the UI has the rest
                },
                tags={"amop/provider": provider_key(provider.name), REPOSITORY_LABEL_TAG: CODE_LOCATION},
                raise_on_error=False,
            )
            if not run.success:
                result.success = False
                echo(f"{provider.name}: the run {run.run_id} failed; see it in dagster dev")
                continue
            totals = run.output_for_node("winning_results")
            path = run.asset_materializations_for_node("optimization_report")[0].metadata["path"].value
            costs = f"{totals.cost_before} -> {totals.cost_after}"
            line = f"{provider.name} {month}: savings {totals.savings_text()}, monthly cost {costs}"
            echo(line)
            echo(f"report: {path}")
            result.outcomes.append(ProviderOutcome(provider.name, month, run.run_id, line, path))
    echo("inspect the runs, re-execute them and run the checks again with: amop ui")
    return result
