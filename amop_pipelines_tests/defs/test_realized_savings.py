"""Realized savings on a closed month, against a hand-computed example.

Three devices on two plans (not pooled, whole cycle):
    SMALL: 2.00 a month, 10 MB, 0.10 per MB over;  BIG: 5.00 a month, 100 MB, 0.05 per MB over.
Halfway through the month the optimization sees A 2.5 MB, B 30 MB, C 10 MB so far; it projects
about twice that and recommends A -> SMALL, B -> BIG, C stays on SMALL. The period closes with
A 5 MB, B 60 MB, C 45 MB (C used more than projected), and A's and B's changes applied.

    before (A BIG, B SMALL, C SMALL):  5.00 + (2 + 50 x 0.10 = 7.00) + (2 + 35 x 0.10 = 5.50) = 17.50
    at close (A SMALL, B BIG, C SMALL): 2.00 + 5.00 + 5.50 = 12.50
    hindsight (C on BIG: 5.00 < 5.50):  2.00 + 5.00 + 5.00 = 12.00
    realized savings 17.50 - 12.50 = 5.00; left on the table 12.50 - 12.00 = 0.50
"""

from datetime import timedelta
from decimal import Decimal

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines import clock
from amop_pipelines.carriers.models import UsageRecord
from amop_pipelines.db import migrate
from amop_pipelines.db.models import (
    BillingPeriod,
    CarrierRatePlan,
    CommunicationPlan,
    CommunicationPlanRatePlan,
    Device,
    DeviceUsage,
    RealizedSavings,
    RealizedSavingsDevice,
    ServiceProvider,
)
from amop_pipelines.defs.optimization.assets import (
    comm_plan_groups,
    optimization_queues,
    optimization_results,
    winning_results,
)
from amop_pipelines.defs.optimization.realized import realized_savings, realized_savings_sensor
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import materialize_month
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.planning.realized import SETTLE, month_to_price, realized_sheet
from amop_pipelines.reports.workbook import write_report
from amop_pipelines.sync.periods import billing_period_id, provider_period
from amop_pipelines.sync.staging import stage_usage
from amop_pipelines.sync.upsert import upsert_usage

MB = 1_048_576  # bytes
PLANS = {"SMALL": ("2.00", "10", "0.10"), "BIG": ("5.00", "100", "0.05")}
DEVICES = {  # ICCID: (plan before, MB halfway, MB at close, plan at close)
    "89014103211118510720": ("BIG", 2.5, 5, "SMALL"),
    "89014103211118510738": ("SMALL", 30, 60, "BIG"),
    "89014103211118510746": ("SMALL", 10, 45, "SMALL"),
}


def _next_month(provider: ServiceProvider) -> str:
    """The month after the running one: its whole period lies ahead, on any day the test runs."""
    running = provider_period(provider, f"{clock.now():%Y-%m}")
    year, month = (int(part) for part in running.billing_month.split("-"))
    if clock.now() >= running.starts_at:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}"


@pytest.fixture
def account(sqlite_url, sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("AMOP_DATA_DIR", str(tmp_path / "data"))
    migrate.upgrade(sqlite_url)
    with Session(sqlite_engine) as session, session.begin():
        provider = ServiceProvider(
            name="Hand Account",
            integration="jasper",
            account_name="hand",
            billing_cycle_end_day=18,
            time_zone="America/Chicago",
            carrier_settings={},
        )
        session.add(provider)
        session.flush()
        comm = CommunicationPlan(service_provider_id=provider.id, name="CP-HAND")
        session.add(comm)
        plans = {}
        for code, (charge, allowance, rate) in PLANS.items():
            plans[code] = CarrierRatePlan(
                service_provider_id=provider.id,
                plan_code=code,
                name=code.title(),
                monthly_charge=Decimal(charge),
                allowance_mb=Decimal(allowance),
                overage_rate=Decimal(rate),
                overage_unit_mb=Decimal(1),
            )
        session.add_all(plans.values())
        session.flush()
        session.add_all(
            CommunicationPlanRatePlan(communication_plan_id=comm.id, carrier_rate_plan_id=plan.id)
            for plan in plans.values()
        )
        for iccid, (before, *_) in DEVICES.items():
            session.add(
                Device(
                    service_provider_id=provider.id,
                    iccid=iccid,
                    status="ACTIVATED",
                    communication_plan_id=comm.id,
                    carrier_rate_plan_id=plans[before].id,
                )
            )
        session.flush()
        session.expunge(provider)
    month = _next_month(provider)
    resources = {
        "amop_db": AmopDatabase(url=sqlite_url),
        "notifier": Notifier(outbox=str(tmp_path / "outbox"), recipients="ops@example.com"),
    }
    with dg.instance_for_test() as instance:
        yield provider, month, sqlite_engine, resources, instance


def _sync_usage(engine, provider, month: str, column: int, closed: bool) -> None:
    """Usage through the sync's own staging and upsert, as read before or after close."""
    period_id = billing_period_id(engine, provider, month)
    records = [UsageRecord(iccid, int(row[column] * MB), 0) for iccid, row in DEVICES.items()]
    stage_usage(engine, provider.id, period_id, records, period_closed=closed)
    upsert_usage(engine, provider.id, period_id)


def _optimize_halfway(provider, month, engine, resources, instance) -> None:
    period = provider_period(provider, month)
    with clock.shifted(period.starts_at + (period.ends_at - period.starts_at) / 2 - clock.now()):
        _sync_usage(engine, provider, month, 1, closed=False)
        result = materialize_month(
            [comm_plan_groups, optimization_queues, optimization_results, winning_results],
            provider,
            instance,
            resources,
            month,
            run_config={"ops": {"comm_plan_groups": {"config": {"milp_seconds": 0}}}},
        )
    assert result.success
    recommended = {  # what the optimizer chose on the projection: the changes the example applies
        "89014103211118510720": "SMALL",
        "89014103211118510738": "BIG",
    }
    with Session(engine) as session:
        results = session.execute(
            sa.text(
                "select d.iccid, p.plan_code from optimization_device_result r join device d "
                "on d.id = r.device_id join carrier_rate_plan p on p.id = r.recommended_rate_plan_id "
                "join optimization_queue q on q.id = r.queue_id where q.is_winner"
            )
        ).all()
    assert dict(results) == {**recommended, "89014103211118510746": "SMALL"}


def _close(provider, month, engine) -> None:
    """After close: the final usage read, and the plans the carrier reports (A's and B's applied)."""
    period = provider_period(provider, month)
    with clock.shifted(period.ends_at + timedelta(hours=1) - clock.now()):
        _sync_usage(engine, provider, month, 2, closed=True)
    with engine.begin() as connection:
        plan_ids = dict(connection.execute(sa.select(CarrierRatePlan.plan_code, CarrierRatePlan.id)).all())
        for iccid, (*_, at_close) in DEVICES.items():
            connection.execute(
                sa.update(Device).where(Device.iccid == iccid).values(carrier_rate_plan_id=plan_ids[at_close])
            )


def test_realized_savings_of_a_closed_month_equal_the_hand_computed_example(account):
    provider, month, engine, resources, instance = account
    _optimize_halfway(provider, month, engine, resources, instance)
    _close(provider, month, engine)

    result = materialize_month([realized_savings], provider, instance, resources, month)

    assert result.success
    shown = result.asset_materializations_for_node("realized_savings")[0].metadata
    figures = {name: shown[name].value for name in ("cost_before", "cost_at_close", "cost_hindsight")}
    assert figures == {"cost_before": 17.50, "cost_at_close": 12.50, "cost_hindsight": 12.00}
    assert shown["realized_savings"].value == 5.00
    assert shown["left_on_table"].value == 0.50
    counts = ("devices", "devices_changed", "devices_left_out")
    assert tuple(shown[name].value for name in counts) == (3, 2, 0)
    assert shown["actual_mb"].value == 110.0
    with Session(engine) as session:
        stored = session.scalars(sa.select(RealizedSavings)).one()
        assert (stored.cost_before, stored.cost_actual, stored.cost_hindsight) == (
            Decimal("17.50"),
            Decimal("12.50"),
            Decimal("12.00"),
        )
        devices = {
            iccid: (row.plan_before, row.plan_recommended, row.plan_actual, row.plan_hindsight, row.actual_mb)
            for row, iccid in session.execute(
                sa.select(RealizedSavingsDevice, Device.iccid).join(
                    Device, Device.id == RealizedSavingsDevice.device_id
                )
            )
        }
    assert devices == {
        "89014103211118510720": ("BIG", "SMALL", "SMALL", "SMALL", Decimal(5)),
        "89014103211118510738": ("SMALL", "BIG", "BIG", "BIG", Decimal(60)),
        "89014103211118510746": ("SMALL", "SMALL", "SMALL", "BIG", Decimal(45)),
    }
    # the projection (the optimization's projected MB) ran low on C: the error is what it stored
    projected = float(stored.projected_mb)
    assert projected < 110 and shown["projected_mb"].value == projected
    assert shown["projection_error_percent"].value == round((projected - 110) / 110 * 100, 2)


def test_realized_savings_before_the_final_usage_fail_with_the_reason_and_store_nothing(account):
    provider, month, engine, resources, instance = account
    _optimize_halfway(provider, month, engine, resources, instance)

    result = materialize_month([realized_savings], provider, instance, resources, month, raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "final usage is not synced yet" in str(failure.event_specific_data.error)
    assert month in str(failure.event_specific_data.error)
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count(RealizedSavings.id))) == 0


def test_the_sensor_prices_the_closed_month_a_day_after_close_once_and_the_next_report_shows_it(
    account, tmp_path
):
    provider, month, engine, resources, instance = account
    _optimize_halfway(provider, month, engine, resources, instance)
    _close(provider, month, engine)
    closes = provider_period(provider, month).ends_at

    def tick():
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            return realized_savings_sensor(context)

    with clock.shifted(closes + SETTLE - timedelta(minutes=1) - clock.now()):
        assert tick().run_requests == []  # the carrier's final usage has not settled yet
    with clock.shifted(closes + SETTLE + timedelta(minutes=1) - clock.now()):
        requests = tick().run_requests
        assert [r.partition_key.keys_by_dimension["billing_month"] for r in requests] == [f"{month}-01"]
        assert tick().run_requests[0].run_key == requests[0].run_key  # the same key all day
        assert requests[0].run_config["ops"]["device_staging"]["config"]["freshness_hours"] == 0
        result = materialize_month([realized_savings], provider, instance, resources, month)
        assert result.success
        assert tick().run_requests == []  # priced: nothing more to launch
        assert month_to_price(engine, provider, clock.now()) is None

    # the next month's report carries the sheet
    year, number = (int(part) for part in month.split("-"))
    following = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    sheet = realized_sheet(engine, provider.id, following)
    assert sheet is not None and realized_sheet(engine, provider.id, month) is None
    path, _ = write_report(tmp_path, "next.xlsx", "Next", [], [], [], [], realized=sheet)
    rows = list(openpyxl.load_workbook(path, read_only=True)["Realized savings"].values)
    assert rows[0][:8] == (
        "Billing month",
        "Devices",
        "Devices changed",
        "Cost before",
        "Cost at close",
        "Hindsight optimum",
        "Realized savings",
        "Left on the table",
    )
    assert rows[1][:8] == (month, 3, 2, 17.5, 12.5, 12, 5, 0.5)
    assert rows[3][0].startswith(f"Devices of {month}") and rows[4][0] == "ICCID"
    devices = rows[5:]
    assert devices[0][:5] == ("89014103211118510746", "SMALL", "SMALL", "SMALL", "BIG")  # largest error
    assert {row[0] for row in devices} == set(DEVICES)
    with Session(engine) as session:
        final = session.scalar(sa.select(BillingPeriod.final_usage_at))
        assert final is not None
        assert session.scalar(sa.select(sa.func.count(DeviceUsage.id))) == 3
