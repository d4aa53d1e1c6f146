"""The report's devices, read back from the stored results as one frame: every winning device once,
with exactly the amounts the database holds, on SQLite and on PostgreSQL."""

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from amop_pipelines.db.models import CarrierRatePlan, Device, OptimizationDeviceResult, OptimizationInstance
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.planning import results
from amop_pipelines.planning.month import MonthOutcome, prepare_month
from amop_pipelines.planning.runs import assemble, optimize_part, split_parts
from amop_pipelines.reports.assignments import SCHEMA
from amop_pipelines_tests.planning.months import provider_month


def _optimized_month(engine, integration: str) -> results.Totals:
    """The month through the planning steps the optimization assets call, winners marked."""
    provider, billing_period, _ = provider_month(engine, integration)
    inputs = prepare_month(engine, provider, billing_period.billing_month, "run-1", None, project_usage=True)
    parts = [optimize_part(part, 20) for part in split_parts(inputs.month, inputs.plan, 2)]
    run = assemble(inputs.month, inputs.month_to_date, inputs.plan, parts)
    outcome = MonthOutcome(inputs, run, results.store_queues(engine, inputs, run), 0.0)
    results.store_device_results(engine, outcome)
    return results.mark_winners(engine, outcome)


def test_the_reports_devices_carry_the_stored_amounts_exactly(engine):
    seed_demo(engine, devices=400)
    totals = _optimized_month(engine, "jasper")
    frame, _ = results.report_rows(engine, totals)

    recommended = aliased(CarrierRatePlan)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(
                Device.iccid,
                recommended.plan_code,
                OptimizationDeviceResult.usage_mb,
                OptimizationDeviceResult.projected_usage_mb,
                OptimizationDeviceResult.current_cost,
                OptimizationDeviceResult.recommended_cost,
            )
            .join(Device, Device.id == OptimizationDeviceResult.device_id)
            .join(recommended, recommended.id == OptimizationDeviceResult.recommended_rate_plan_id)
            .where(
                OptimizationDeviceResult.queue_id.in_(
                    results.winning_queues(OptimizationInstance.id == totals.instance_id)
                )
            )
        ).all()
    assert dict(frame.schema) == SCHEMA
    assert frame["iccid"].to_list() == sorted(row.iccid for row in stored)  # each device once, by ICCID
    by_iccid = {row.iccid: tuple(row[1:]) for row in stored}
    read = frame.select(
        "iccid", "recommended_plan", "usage_mb", "projected_mb", "cost_before", "cost_after"
    ).rows()
    assert {row[0]: row[1:] for row in read} == by_iccid  # Decimal == Decimal: to the last digit
    assert any(row[4] != row[5] for row in read)  # costs that differ: not one column read twice
