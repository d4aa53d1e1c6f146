"""`amop demo`: the whole chain on the embedded defaults, recorded in a persistent Dagster instance.

Seeds the demo fleet when the database is empty (its accounts push their winning plans: auto
updates on), serves the same fleet from the carrier simulator on a free loopback port, and runs
the code location's own jobs, so that the runs are there to inspect, and to re-execute, in the UI
(`amop ui`) afterwards:

1. `optimization_job` (the sync, the optimization and their asset checks) for each provider's
   current billing month;
2. `change_request_job` for each change request the Go decision queued (what
   change_requests_sensor launches), so that the carrier applies the winning plans;
3. `fleet_summary_job`;
4. the month closes: the simulator's clock and AMOP's (`clock.shifted`) move a day past the last
   close, and `realized_savings_job` syncs each closed month's final usage and prices it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from sqlalchemy import func, select, update

from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.settings import database_url


@dataclass
class ProviderOutcome:
    provider: str
    billing_month: str
    run_id: str
    savings_line: str
    report_path: str


@dataclass
class RealizedOutcome:
    provider: str
    billing_month: str
    run_id: str
    line: str


@dataclass
class DemoResult:
    success: bool
    devices: int
    outcomes: list[ProviderOutcome] = field(default_factory=list)
    realized: list[RealizedOutcome] = field(default_factory=list)


def _materialized(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Each asset the run materialized: its metadata's values, by asset name."""
    found = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.event_specific_data.materialization  # type: ignore[union-attr]
        found[materialization.asset_key.path[-1]] = {k: v.value for k, v in materialization.metadata.items()}
    return found


def run_demo(devices: int = 5000, seed: int = 7, echo: Callable[[str], None] = print) -> DemoResult:

    from amop_pipelines.changes.callbacks import register_receiver, running_receiver
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import Device
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
    from amop_pipelines.sync.providers import active_providers, provider_key

    url = database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        existing = connection.scalar(select(func.count(Device.id))) or 0
    if existing == 0:
        report = seed_demo(engine, devices=devices, seed=seed)
        with engine.begin() as connection:  # the demo accounts push their winning plans
            connection.execute(update(ServiceProvider).values(auto_update_rate_plans=True))
        echo(f"seeded {report.devices_in_fleet:,} demo devices in {report.seconds:.1f} s")
        existing = report.devices_in_database
    active = active_providers(engine)
    result = DemoResult(success=True, devices=existing)
    echo(f"starting the carrier simulator with the same {existing:,} SIMs")
    secret = secrets.token_urlsafe(24)  # the receiver's for this demo only
    with (
        running_simulator(new_state(devices=existing, seed=seed)) as sim,
        running_receiver(engine, secret) as receiver_url,
        persistent_instance() as instance,
    ):
        carriers = simulator_carriers(sim.base_url)
        fast = simulator_carriers(sim.base_url, rate_limit_per_second=1000)  # the push: see below
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
                run_config={"ops": {"device_staging": {"config": {"full_sync": True}}}, **_quiet()},
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
        _push_winning_plans(engine, instance, {**resources, "carriers": fast}, sim, echo)
        summary = run_in_code_location(
            code_location_job("fleet_summary_job", resources),
            instance,
            None,
            run_config=_quiet(),
            tags={},
        )
        if summary.is_success:
            counted = _materialized(instance, summary.run_id)["fleet_summary"]["devices"]
            echo(f"fleet summary: {counted:,} devices in the AMOP database")
        else:
            result.success = False
            echo(f"the fleet summary run {summary.run_id} failed; see it with `amop ui`")
        _close_and_price(sim, instance, resources, {p.name: p for p in active}, result, echo)
    echo("inspect the runs, re-execute them and run the checks again with: amop ui")
    return result


def _quiet() -> dict[str, Any]:
    return {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the UI has the rest


def _push_winning_plans(
    engine, instance: dg.DagsterInstance, resources: dict, sim, echo: Callable[[str], None]
) -> None:
    """A round of each change request the Go decisions queued, as change_requests_sensor runs
    them: the carrier applies the winning plans before the month closes. The simulator's rate
    limits are lifted meanwhile (and AMOP's with them, `resources`' carriers): at the carriers'
    own limits the 5,000-device demo's plan changes would take a quarter of an hour."""
    from amop_pipelines.carriers.registry import CARRIERS
    from amop_pipelines.db.models import ChangeRequest
    from amop_pipelines.demo.code_location import code_location_job, run_in_code_location

    with engine.connect() as connection:
        requests = connection.scalars(
            select(ChangeRequest.request_id)
            .where(ChangeRequest.state == "pending")
            .order_by(ChangeRequest.priority.desc(), ChangeRequest.id)
        ).all()
    if not requests:
        return
    job = code_location_job("change_request_job", resources)
    done = 0
    for carrier in CARRIERS:
        sim.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
    try:
        for request_id in requests:
            config = {"ops": {"start_change_round": {"config": {"request_id": request_id}}}, **_quiet()}
            run = run_in_code_location(job, instance, None, run_config=config, tags={})
            done += run.is_success
    finally:
        sim.reset_faults()
    echo(f"pushed the winning plans: {done} of {len(requests)} change request runs succeeded")


def _close_and_price(
    sim, instance: dg.DagsterInstance, resources: dict, providers: dict, result: DemoResult, echo
) -> None:
    """Move the simulator's clock and AMOP's a day past the last close, then sync each closed month
    and price it (realized_savings_job). `providers`: the accounts by name."""
    from datetime import timedelta

    from amop_pipelines import clock
    from amop_pipelines.defs.shared.launch import month_partition
    from amop_pipelines.demo.code_location import code_location_job, run_in_code_location
    from amop_pipelines.planning.realized import SETTLE
    from amop_pipelines.sync.periods import provider_period
    from amop_pipelines.sync.providers import provider_key

    if not result.outcomes:
        return
    closes = max(provider_period(providers[o.provider], o.billing_month).ends_at for o in result.outcomes)
    ahead = closes + SETTLE + timedelta(minutes=5) - clock.now()
    echo(f"closing the billing months: the clocks move {ahead.total_seconds() / 86400:.1f} days on")
    sim.advance_clock(ahead.total_seconds())
    job = code_location_job("realized_savings_job", resources)
    with clock.shifted(ahead):
        for outcome in result.outcomes:
            provider = providers[outcome.provider]
            config = {"ops": {"device_staging": {"config": {"freshness_hours": 0}}}, **_quiet()}
            run = run_in_code_location(
                job,
                instance,
                month_partition(provider, outcome.billing_month),
                run_config=config,
                tags={"amop/provider": provider_key(provider.name)},
            )
            if not run.is_success:
                result.success = False
                echo(f"{provider.name}: the realized savings run {run.run_id} failed; see it with `amop ui`")
                continue
            shown = _materialized(instance, run.run_id)["realized_savings"]
            line = (
                f"{provider.name} {outcome.billing_month} after close: realized savings "
                f"{shown['realized_savings']:.2f}, left on the table {shown['left_on_table']:.2f}, "
                f"projection error {shown.get('projection_error_percent', 0):.2f}% "
                f"({shown['devices_changed']} devices on new plans)"
            )
            echo(line)
            result.realized.append(RealizedOutcome(provider.name, outcome.billing_month, run.run_id, line))
