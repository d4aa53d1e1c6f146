"""The sync assets, materialized for a partition against the simulator over real HTTP."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from amop_pipelines.carriers.models import BYTES_PER_MB
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.changes.callbacks import register_receiver, running_receiver
from amop_pipelines.db.models import CarrierRatePlan, Device, DeviceStaging, DeviceUsage, ServiceProvider
from amop_pipelines.defs.shared.carriers import CarrierClients
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import current_billing_month, materialize_month
from amop_pipelines.defs.shared.partitions import billing_months
from amop_pipelines.defs.sync.assets import sync_assets
from amop_pipelines.defs.sync.checks import (
    device_iccids_well_formed,
    device_plans_known,
    rate_plans_valid_for_optimization,
    staged_iccids_unique,
)
from amop_pipelines.demo.carriers import simulator_carriers
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.sync.periods import billing_period_id, provider_period
from amop_pipelines.sync.providers import provider_key

FLEET, SEED = 1500, 7
SECRET = "sync-callback-secret"
CHECKS = [
    staged_iccids_unique,
    device_iccids_well_formed,
    device_plans_known,
    rate_plans_valid_for_optimization,
]


@pytest.fixture
def setup(sqlite_url, sqlite_engine):
    """A database with the demo's providers, plans and customers but no devices yet."""
    seed_demo(sqlite_engine, devices=FLEET, seed=SEED)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.delete(DeviceUsage))
        connection.execute(sa.delete(Device))
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=500))
    with (
        running_simulator(new_state(devices=FLEET, seed=SEED)) as sim,
        running_receiver(sqlite_engine, SECRET) as receiver_url,
    ):
        sim.freeze_clock()  # usage stands still, so that two syncs can be compared
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
        # the account set up as in production: ThingSpace answers bulk usage by DeviceUsage callbacks
        register_receiver(sqlite_engine, simulator_carriers(sim.base_url).for_provider, receiver_url, SECRET)
        yield sim, sqlite_url, sqlite_engine


def _materialize(
    sim, url, provider: ServiceProvider, instance, config=None, **kwargs
) -> dg.ExecuteInProcessResult:
    # a DeviceUsage callback whose delivery failed is retried 5 minutes later on the simulator's
    # clock, which these tests freeze: after 30 s such a device is read alone, as designed
    # (the default wait, 10 minutes, is the test's whole timeout)
    carriers = simulator_carriers(sim.base_url, usage_wait_seconds=30)
    resources = {"amop_db": AmopDatabase(url=url), "carriers": carriers}
    config = config or {"full_sync": True}
    run_config = {"ops": {"device_staging": {"config": config}}}
    return materialize_month(
        [*sync_assets, *CHECKS], provider, instance, resources, run_config=run_config, **kwargs
    )


def _snapshot(engine) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                Device.iccid,
                Device.status,
                Device.carrier_rate_plan_id,
                DeviceUsage.data_mb,
                DeviceUsage.sms_count,
            ).outerjoin(DeviceUsage, DeviceUsage.device_id == Device.id)
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _metadata(result, asset: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(asset)[0].metadata.items()}


@pytest.mark.parametrize("integration", ["jasper", "thingspace"])
def test_sync_fills_the_database_then_updates_exactly_what_changed(setup, integration):
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration=integration)).one()
    carrier_devices = [d for d in sim.state.devices.values() if d.carrier == integration]
    with dg.instance_for_test() as instance:
        sim.state.captured.clear()
        first = _materialize(sim, url, provider, instance)
        assert first.success
        if integration == "thingspace":  # usage in bulk, by DeviceUsage callback: no device read alone
            paths = [c["path"] for c in sim.state.captured]
            assert sum(p.endswith("/devices/usage/actions/list/aggregate") for p in paths) == 1
            assert not any(p.endswith("/devices/usage/actions/list") for p in paths)
        assert _metadata(first, "devices")["inserted"] == len(carrier_devices)
        assert _metadata(first, "device_usage")["rows"] == len(carrier_devices)
        assert _metadata(first, "device_usage")["final"] is False  # the running cycle, to date
        assert all(c.passed for c in first.get_asset_check_evaluations())
        before = _snapshot(engine)
        assert len(before) == len(carrier_devices)
        assert (
            sum(1 for values in before.values() if values[2] is not None and values[2] > 0) > 0
        )  # usage landed

        changed = sorted(d.iccid for d in carrier_devices if d.status in ("ACTIVATED", "active"))[:3]
        for iccid in changed:
            sim.change_device(iccid, status="DEACTIVATED" if integration == "jasper" else "deactive")
        second = _materialize(sim, url, provider, instance)
        assert second.success
        devices_meta = _metadata(second, "devices")
        assert devices_meta["updated"] == 3 and devices_meta["inserted"] == 0
        after = _snapshot(engine)
        assert {i for i in after if after[i][0] != before[i][0]} == set(changed)

        sim.set_faults(integration, error_rate=0.2)
        third = _materialize(sim, url, provider, instance)
        assert third.success
        assert _snapshot(engine) == after  # 20% 5xx: the same result as without


def test_a_thingspace_devices_activation_date_follows_the_carrier_and_with_it_its_prorated_days(setup):
    """AMOP held a later activation than the carrier reports (a device it thought new this
    cycle): the sync takes the carrier's, so the device is billed for the whole cycle again.
    (Control Center's device search answers no activation date: a Jasper device keeps AMOP's.)"""
    integration = "thingspace"
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration=integration)).one()
        session.expunge(provider)
    device = next(
        d
        for d in sorted(sim.state.devices.values(), key=lambda d: d.iccid)
        if d.carrier == integration and d.status in ("ACTIVATED", "active")
    )
    period = provider_period(provider, current_billing_month(provider))
    with dg.instance_for_test() as instance:
        assert _materialize(sim, url, provider, instance).success
        with engine.begin() as connection:
            connection.execute(
                sa.update(Device)
                .where(Device.iccid == device.iccid)
                .values(activated_at=period.starts_at + timedelta(days=3))
            )
        assert _materialize(sim, url, provider, instance).success
    with engine.connect() as connection:
        activated, days = connection.execute(
            sa.select(Device.activated_at, DeviceUsage.days_active)
            .join(DeviceUsage, DeviceUsage.device_id == Device.id)
            .where(Device.iccid == device.iccid)
        ).one()
    assert activated == device.date_activated.replace(microsecond=0) < period.starts_at
    assert days is None  # the whole cycle


def test_checks_fail_on_crafted_bad_input_name_it_and_look_at_their_partition_only(setup):
    _, url, engine = setup
    resource = AmopDatabase(url=url)
    with sa.orm.Session(engine) as session:
        providers = session.scalars(sa.select(ServiceProvider).order_by(ServiceProvider.id)).all()
        crafted, other = providers[0], providers[1]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Device).values(
                service_provider_id=crafted.id,
                iccid="8901X",
                status="ACTIVATED",
                is_archived=False,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
        staged = {
            "service_provider_id": crafted.id,
            "iccid": "8901260000000000001",
            "synced_at": datetime.now(UTC),
        }
        connection.execute(sa.insert(DeviceStaging), [staged, staged])
        connection.execute(
            sa.update(CarrierRatePlan)
            .where(CarrierRatePlan.service_provider_id == crafted.id, CarrierRatePlan.is_priced)
            .values(overage_rate=0)
        )
        bad_plans = connection.scalars(
            sa.select(CarrierRatePlan.plan_code).where(
                CarrierRatePlan.service_provider_id == crafted.id, CarrierRatePlan.is_priced
            )
        ).all()

    def check(fn, provider: ServiceProvider) -> dg.AssetCheckResult:
        key = dg.MultiPartitionKey({"provider": provider_key(provider.name), "billing_month": "2026-12-01"})
        with dg.build_op_context(partition_key=key, resources={"amop_db": resource}) as context:
            return fn(context)

    well_formed = check(device_iccids_well_formed, crafted)
    assert not well_formed.passed and "8901X" in well_formed.description
    known = check(device_plans_known, crafted)
    assert not known.passed and "8901X" in known.description
    unique = check(staged_iccids_unique, crafted)
    assert not unique.passed and "8901260000000000001" in unique.description
    valid = check(rate_plans_valid_for_optimization, crafted)
    assert not valid.passed and bad_plans[0] in valid.description
    # the other provider's partition is not touched by what is wrong with this one
    assert all(check(fn, other).passed for fn in CHECKS)


def test_a_recent_sync_of_this_cycle_is_not_repeated_unless_asked(setup):
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
    with dg.instance_for_test() as instance:
        assert _materialize(sim, url, provider, instance).success  # a full sync
        again = _materialize(sim, url, provider, instance, {"freshness_hours": 6})
    assert again.success
    assert _metadata(again, "device_staging")["skipped"] is True
    assert _metadata(again, "devices")["unchanged"] == len(
        [d for d in sim.state.devices.values() if d.carrier == "jasper"]
    )


def test_carrier_retries_reach_the_runs_log_in_the_projects_instance(setup, tmp_path, monkeypatch):
    """dagster.yaml manages the "amop" loggers: what the carrier clients log (here, retries after
    5xx answers) is in the run's event log, as an operator reads it in the UI."""
    sim, url, engine = setup
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text((Path(__file__).resolve().parents[2] / "dagster.yaml").read_text())
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
    sim.set_faults("jasper", error_rate=0.3)
    with dg.DagsterInstance.get() as instance:
        result = _materialize(sim, url, provider, instance)
        assert result.success
        messages = [
            record.user_message
            for record in instance.all_logs(result.run_id)
            if record.step_key == "device_staging" and not record.is_dagster_event
        ]
    assert any("retrying in" in message and "attempt 2 of" in message for message in messages), messages[:5]


def test_the_default_sync_reads_only_devices_modified_in_the_last_30_days(setup):
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
    with dg.instance_for_test() as instance:
        assert _materialize(sim, url, provider, instance).success  # the first, full sync
        changed = sorted(d.iccid for d in sim.state.devices.values() if d.carrier == "jasper")[:4]
        for iccid in changed:
            sim.change_device(iccid, status="DEACTIVATED")
        since = sim.state.now() - timedelta(days=30)
        recent = [d for d in sim.state.devices.values() if d.carrier == "jasper" and d.date_updated >= since]
        default = _materialize(sim, url, provider, instance, {"freshness_hours": 0})  # the defaults
    assert default.success
    staged = _metadata(default, "device_staging")
    assert staged["full_sync"] is False
    assert (
        staged["rows"] == len(recent) < len([d for d in sim.state.devices.values() if d.carrier == "jasper"])
    )
    assert set(changed) <= {d.iccid for d in recent}
    assert _metadata(default, "devices")["updated"] == len(changed)


class RepeatingClients(CarrierClients):
    """The real clients, whose device list shows one device twice (as a carrier's pages do when a
    device changes while they are read)."""

    def for_provider(self, provider, inbox=None):
        client = super().for_provider(provider, inbox)
        pages = client.iter_device_pages

        def iter_device_pages(since=None, first_page=1):
            first = None
            for number, devices, last in pages(since, first_page):
                first = first or (devices[0] if devices else None)
                yield number, devices + ([first] if last and first is not None else []), last

        client.iter_device_pages = iter_device_pages
        return client


def test_an_iccid_listed_twice_is_staged_once(setup):
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
    carriers = RepeatingClients(
        default_base_url=sim.base_url, credentials=simulator_carriers(sim.base_url).credentials
    )
    resources = {"amop_db": AmopDatabase(url=url), "carriers": carriers}
    with dg.instance_for_test() as instance:
        result = materialize_month(
            [*sync_assets, *CHECKS],
            provider,
            instance,
            resources,
            run_config={"ops": {"device_staging": {"config": {"full_sync": True}}}},
        )
    assert result.success
    staged = _metadata(result, "device_staging")
    carrier_devices = len([d for d in sim.state.devices.values() if d.carrier == "jasper"])
    assert staged["duplicates_dropped"] == 1 and staged["rows"] == carrier_devices
    assert all(check.passed for check in result.get_asset_check_evaluations())  # no ICCID staged twice


def test_a_page_limit_reads_a_large_account_over_several_runs(setup):
    """max_pages_per_run=7 on an account of 18 pages: two runs stage 7 pages each and succeed
    without materializing (the later steps wait, the device table untouched); the third stages the
    rest, materializes and fills the device table."""
    from amop_pipelines.carriers.jasper import PAGE_SIZE

    sim, url, engine = setup
    with engine.begin() as connection:
        connection.execute(
            sa.update(ServiceProvider)
            .where(ServiceProvider.integration == "jasper")
            .values(carrier_settings={"max_pages_per_run": 7})
        )
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration="jasper")).one()
        session.expunge(provider)
    devices = len([d for d in sim.state.devices.values() if d.carrier == "jasper"])
    pages = -(-devices // PAGE_SIZE)
    assert pages > 14
    with dg.instance_for_test() as instance:
        for run in range(3):
            result = _materialize(sim, url, provider, instance)
            assert result.success
            materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
            with engine.connect() as connection:
                staged = connection.scalar(sa.select(sa.func.count()).select_from(DeviceStaging))
                known = connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(Device)
                    .where(Device.service_provider_id == provider.id)
                )
            if run < 2:
                assert "device_staging" not in materialized and "devices" not in materialized
                assert staged == 7 * PAGE_SIZE * (run + 1) and known == 0
            else:
                assert "device_staging" in materialized
                assert staged == devices and known == devices


def _months_back(month: str, back: int) -> str:
    year, number = divmod(int(month[:4]) * 12 + int(month[5:]) - 1 - back, 12)
    return f"{year:04d}-{number + 1:02d}"


@pytest.mark.parametrize("integration", ["jasper", "thingspace"])
def test_a_past_months_backfill_stores_that_periods_usage_or_is_refused_with_the_reason(setup, integration):
    """A closed period's partition reads that period's usage from the carrier's history (Control
    Center by the cycle's first day, ThingSpace by the period's window) as its final usage, never
    the usage running now; a month older than the carrier keeps fails, says why, and stores
    nothing for it (Control Center keeps two closed cycles, so its third is a partition that is
    refused). A month older
    than any carrier keeps and than the first synced one is not offered as a partition at all."""
    sim, url, engine = setup
    with sa.orm.Session(engine) as session:
        provider = session.scalars(sa.select(ServiceProvider).filter_by(integration=integration)).one()
        session.expunge(provider)
    held = carrier_kind(integration).closed_periods_held
    now_month = current_billing_month(provider)
    past, too_old = _months_back(now_month, held), _months_back(now_month, held + 1)
    period = provider_period(provider, past)
    if integration == "jasper":  # Control Center names the cycle by its first day
        first = datetime.combine(period.start_date, datetime.min.time(), UTC)
        window = (first, sim.state.cycle_end(first))
    else:
        window = (period.starts_at, period.ends_at)
    carrier_devices = [d for d in sim.state.devices.values() if d.carrier == integration]
    expected = {
        d.iccid: (Decimal(sim.state.usage_between(d, *window)[0]) / BYTES_PER_MB).quantize(
            Decimal("0.000001")
        )
        for d in carrier_devices
    }
    offered = billing_months.get_partition_keys()
    with dg.instance_for_test() as instance:
        result = _materialize(sim, url, provider, instance, billing_month=past)
        assert result.success
        refused = None
        if f"{too_old}-01" in offered:
            refused = _materialize(sim, url, provider, instance, billing_month=too_old, raise_on_error=False)
    assert _metadata(result, "usage_staging")["period"] == "closed: the carrier's history"
    assert _metadata(result, "device_usage")["final"] is True  # what realized_savings waits for
    stored = _usage_of(engine, billing_period_id(engine, provider, past))
    assert stored == expected and sum(stored.values()) > 0
    running = sum(Decimal(sim.state.cycle_to_date(d)[0]) / BYTES_PER_MB for d in carrier_devices)
    assert abs(sum(stored.values()) - running) > 1  # not the cycle running now

    if refused is None:  # the partitions begin after it: ThingSpace's oldest month held, at most
        assert integration == "thingspace" and offered[0] > f"{too_old}-01"
        return
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    assert failure.step_key == "usage_staging"
    why = failure.step_failure_data.user_failure_data.description
    assert f"{too_old}: the period closed" in why and f"the {held} before it only" in why
    assert f"Nothing was stored for {too_old}" in why
    assert _usage_of(engine, billing_period_id(engine, provider, too_old)) == {}


def _usage_of(engine, period_id: int) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Device.iccid, DeviceUsage.data_mb)
            .join(DeviceUsage, DeviceUsage.device_id == Device.id)
            .where(DeviceUsage.billing_period_id == period_id)
        ).all()
    return {iccid: Decimal(mb).quantize(Decimal("0.000001")) for iccid, mb in rows}
