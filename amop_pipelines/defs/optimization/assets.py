"""Optimization assets: comm-plan groups, queues, results, the winners and the report, per provider
and billing month, on the sync assets' tables. Values pass between them through Dagster's IO
manager; everything an operator looks at is also in the AMOP database."""

import time
from datetime import datetime

import dagster as dg
from pydantic import Field

from amop_pipelines import clock
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.metadata import markdown_table, money_metadata, provider_of
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.defs.shared.partitions import provider_months
from amop_pipelines.defs.sync.assets import (
    SESSION_TAG,
    carrier_rate_plans,
    device_usage,
    devices,
)
from amop_pipelines.optimization.cost import cents_to_decimal
from amop_pipelines.planning import automation
from amop_pipelines.planning import results as result_tables
from amop_pipelines.planning.month import MonthInputs, MonthOutcome, PartWork, prepare_month
from amop_pipelines.planning.realized import realized_sheet
from amop_pipelines.planning.requests import Queued, queue_rate_plan_changes
from amop_pipelines.planning.runs import PartResult, assemble, optimize_part, split_parts
from amop_pipelines.reports.workbook import assignments_csv, write_report
from amop_pipelines.settings import data_dir
from amop_pipelines.sync import sessions
from amop_pipelines.sync.periods import provider_period

GROUP = "optimization"


class OptimizationConfig(dg.Config):
    legacy_sequences: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Rate plan orders the legacy comparison lists per group; past that it searches "
        "for the best of all orders (and samples this many if the search gives up).",
    )
    project_usage: bool = Field(default=True, description="Optimize for projected end-of-cycle usage.")
    customer: str | None = Field(
        default=None,
        description="A customer's external id: optimize only its devices, pooled per customer.",
    )
    milp_seconds: float | None = Field(
        default=None,
        ge=0,
        le=600,
        description="Seconds each small pool key's MILP may take at most (unset: 60, a safety net: "
        "a MILP normally ends on work done, so that runs repeat; 0: no MILP, the Lagrangian "
        "answer alone).",
    )
    parts: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Independent groups (no pooled plan shared, or another customer's pool) are "
        "optimized in up to this many steps, which the executor runs side by side.",
    )


@dg.asset(
    partitions_def=provider_months,
    group_name=GROUP,
    deps=[devices, device_usage, carrier_rate_plans],
    kinds={"sql"},
)
def comm_plan_groups(
    context: dg.AssetExecutionContext, config: OptimizationConfig, amop_db: AmopDatabase, notifier: Notifier
) -> dg.Output[MonthInputs]:
    """Communication plans that allow the same set of valid rate plans, as one group each.

    A group over 15 rate plans is not optimized (its devices keep their plans) and an alert
    notification names it.
    """
    provider, month_key = provider_of(amop_db, context)
    inputs = prepare_month(
        amop_db.engine,
        provider,
        month_key,
        context.run.run_id,
        context.run.tags.get(SESSION_TAG),
        project_usage=config.project_usage,
        customer=config.customer,
        legacy_sequences=config.legacy_sequences,
        parts=config.parts,
        milp_seconds=config.milp_seconds,
    )
    plan, month = inputs.plan, inputs.month
    for index, why in plan.skipped.items():
        name = plan.groups[index].name
        notifier.send(
            amop_db.engine,
            "alert",
            f"AMOP: comm group {name} of {provider.name} not optimized",
            f"The communication plan group {name} ({provider.name}, billing month {month_key}) allows "
            f"{why}.\nIts devices keep their current rate plans. Reduce the plans it allows to optimize it.",
            recipients=provider.mail_to,
        )
    return dg.Output(
        inputs,
        metadata={
            "groups": len(plan.groups),
            "skipped_groups": ", ".join(plan.groups[i].name for i in plan.skipped) or "-",
            "devices": len(month.problem.devices),
            "devices_without_valid_plan": len(month.excluded_devices),
            "invalid_rate_plans": ", ".join(month.invalid_plans) or "-",
            "unpriced_rate_plans": ", ".join(month.unpriced_plans) or "-",
            "preview": dg.MetadataValue.md(
                markdown_table(["group", "rate plans", "devices", "status"], inputs.group_table(), 50)
            ),
        },
    )


@dg.op(out=dg.DynamicOut(PartWork))
def split_optimization(comm_plan_groups: MonthInputs):
    """The month's independent groups in parts, a step each."""
    inputs = comm_plan_groups
    for part in split_parts(inputs.month, inputs.plan, inputs.parts):
        work = PartWork(part, inputs.legacy_sequences, inputs.milp_seconds)
        yield dg.DynamicOutput(work, mapping_key=f"part_{part.index}")


@dg.op
def optimize_part_step(context: dg.OpExecutionContext, work: PartWork) -> PartResult:
    """Both methods on one part's groups."""
    result = optimize_part(work.part, work.legacy_sequences, work.milp_seconds)
    context.log.info(
        f"part {work.part.index}: {work.part.devices} devices in {len(work.part.sets)} independent "
        f"set(s), {len(result.candidates)} legacy queues, {result.seconds:.2f} s"
    )
    return result


@dg.op
def store_optimization_queues(
    context: dg.OpExecutionContext,
    amop_db: AmopDatabase,
    comm_plan_groups: MonthInputs,
    parts: list[PartResult],
) -> dg.Output[MonthOutcome]:
    """The parts as one month; every queue compared stored."""
    inputs = comm_plan_groups
    started = time.perf_counter()
    run = assemble(inputs.month, inputs.month_to_date, inputs.plan, parts)
    queues = result_tables.store_queues(amop_db.engine, inputs, run)
    devices = len(inputs.month.problem.devices)
    sessions.report_progress(amop_db.engine, context.run.run_id, sessions.QUEUES_CREATED, devices=devices)
    seconds = sum(part.seconds for part in parts) + time.perf_counter() - started
    return dg.Output(
        MonthOutcome(inputs, run, queues, seconds),
        metadata={
            "legacy_queues": len(run.legacy.candidates),
            "exact_queues": len(inputs.group_ids) - len(inputs.plan.skipped),
            # the optimized devices (groups over their plan limit left out), cost and bound alike
            **money_metadata(
                exact_cost=cents_to_decimal(run.exact.total_cents),
                lower_bound=cents_to_decimal(run.exact.lower_bound_cents),
            ),
            "gap_percent": round(run.exact.gap * 100, 4),
            "parts": len(parts),
            "seconds": round(seconds, 2),
        },
    )


@dg.graph_asset(partitions_def=provider_months, group_name=GROUP, kinds={"python", "sql"})
def optimization_queues(comm_plan_groups: MonthInputs) -> MonthOutcome:
    """Every queue compared: one per rate plan sequence and strategy (legacy), one exact run per
    group; independent groups optimized in parallel steps (config `parts` of comm_plan_groups)."""
    results = split_optimization(comm_plan_groups).map(optimize_part_step).collect()
    return store_optimization_queues(comm_plan_groups, results)


@dg.asset(partitions_def=provider_months, group_name=GROUP, kinds={"sql"})
def optimization_results(
    context: dg.AssetExecutionContext, amop_db: AmopDatabase, optimization_queues: MonthOutcome
) -> dg.Output[MonthOutcome]:
    """Per device the current and the recommended plan and cost (M2M and Mobility), and the pools,
    of the winning method (the other's queues keep their totals)."""
    rows = result_tables.store_device_results(amop_db.engine, optimization_queues)
    devices = len(optimization_queues.inputs.month.problem.devices)
    sessions.report_progress(amop_db.engine, context.run.run_id, sessions.CALCULATIONS_DONE, devices=devices)
    return dg.Output(optimization_queues, metadata={"device_results": rows})


@dg.asset(partitions_def=provider_months, group_name=GROUP, kinds={"sql"})
def winning_results(
    amop_db: AmopDatabase, optimization_results: MonthOutcome
) -> dg.Output[result_tables.Totals]:
    """The winning queue per group marked (only its results were stored), and the session's savings."""
    totals = result_tables.mark_winners(amop_db.engine, optimization_results)
    table = [
        (p.plan, p.devices_before, p.devices_after, p.cost_before, p.cost_after, p.savings)
        for p in totals.per_plan
    ]
    return dg.Output(
        totals,
        metadata={
            # numbers, so that the UI plots them across months (exact cents are in the database
            # and the report); a cost before that is unknown (devices without a plan) is absent
            **money_metadata(
                cost_before=totals.cost_before,
                cost_after=totals.cost_after,
                savings=totals.savings,
                cost_after_on_usage_to_date=totals.cost_after_to_date,
            ),
            **(
                {"savings_percent": round(totals.savings_percent, 2)}
                if totals.savings_percent is not None
                else {}
            ),
            "currency": totals.currency,
            "devices_changed": totals.devices_changed,
            "winner": totals.winner,
            **money_metadata(lower_bound=totals.lower_bound),  # on the basis of cost_after
            "gap_percent": round(totals.gap * 100, 4),
            "savings_per_rate_plan": dg.MetadataValue.md(
                markdown_table(
                    ["rate plan", "devices before", "devices after", "cost before", "cost after", "savings"],
                    table,
                    100,
                )
            ),
        },
    )


@dg.asset(partitions_def=provider_months, group_name=GROUP, kinds={"excel"})
def optimization_report(
    context: dg.AssetExecutionContext,
    amop_db: AmopDatabase,
    notifier: Notifier,
    winning_results: result_tables.Totals,
) -> dg.MaterializeResult:
    """The workbook (Summary, Statistics, Assignments, Shared Pool, savings chart, and the earlier
    months' realized savings when there are any), mailed to the recipients. Its summary says what
    happens next as rate_plan_updates will decide it."""
    totals = winning_results
    folder = data_dir() / "reports" / totals.provider_key / totals.billing_month
    scope = f"-{totals.customer}" if totals.customer else ""
    name = f"optimization-{totals.billing_month}{scope}-{totals.session_guid[:8]}.xlsx"
    assignments, pools = result_tables.report_rows(amop_db.engine, totals)
    now = current_time()
    summary = totals.summary_lines(now)
    provider, _ = provider_of(amop_db, context)
    earlier = None if totals.customer else realized_sheet(amop_db.engine, provider.id, totals.billing_month)
    path, digest = write_report(
        folder,
        name,
        totals.title,
        summary,
        totals.per_plan,
        assignments,
        pools,
        totals.currency,
        realized=earlier,
    )
    result_tables.record_report(amop_db.engine, totals, path, digest)
    mail = notifier.send(
        amop_db.engine,
        "success",
        f"AMOP optimization {totals.title}: savings {totals.savings_text()}",
        "\n".join(line.text(totals.currency) for line in summary),
        attachments=[path],
        recipients=totals.mail_to,
    )
    if mail.status == "failed":  # the results stand; failed_mail_sensor sends it later
        context.log.warning(f"the report mail was not sent ({mail.error}); it is tried again later")
    else:
        result_tables.customer_notified(amop_db.engine, totals)
    sessions.report_progress(
        amop_db.engine, context.run.run_id, sessions.RESULTS_DELIVERED, "succeeded", totals.devices
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "assignments_csv": dg.MetadataValue.path(str(assignments_csv(path))),
            "rows": len(assignments),
            "sha256": digest,
            "mail": mail.status,
            "next_step": totals.next_step(now).decision,
            "realized_months": len(earlier.months) if earlier else 0,
        }
    )


def current_time() -> datetime:
    """The automation's clock (tests replace it)."""
    return clock.now()


@dg.asset(partitions_def=provider_months, group_name=GROUP, deps=[winning_results], kinds={"sql"})
def rate_plan_updates(
    context: dg.AssetExecutionContext,
    amop_db: AmopDatabase,
    notifier: Notifier,
    optimization_results: MonthOutcome,
) -> dg.MaterializeResult:
    """Go / No Go for pushing the winning plans before close, as the report's Next step says it
    (one rule, `automation.next_step`: Go, No Go, Off, Closed or Nothing to push).

    The estimate uses the provider's rate limit as the carrier's throughput, one call per change
    (what `bench/sync_throughput.py` measures the clients reaching). Go queues Change Carrier
    Rate Plan requests of at most 250 devices for the bulk change engine; Go, No Go and Closed are
    mailed to the account's recipients.
    """
    provider, month = provider_of(amop_db, context)
    outcome = optimization_results
    changes = outcome.plan_changes()
    step = automation.next_step(
        current_time(),
        provider_period(provider, month).ends_at,
        len(changes),
        provider.rate_limit_per_second,
        provider.auto_update_rate_plans,
    )
    queued = Queued([])
    if step.decision == "Go":
        session_id = outcome.inputs.session_id
        queued = queue_rate_plan_changes(
            amop_db.engine,
            provider,
            changes,
            "optimization",
            f"session {session_id}",
            filing_group=f"go-run-session-{session_id}",
        )
        for iccid, why in queued.skipped[:20]:
            context.log.warning(f"{iccid} not queued: {why}")
    mail_status = "not sent (nothing to decide)"
    if step.decision in ("Go", "No Go", "Closed"):
        mail = notifier.send(
            amop_db.engine,
            "go" if step.decision == "Go" else "no_go",
            f"AMOP rate plan updates {provider.name} {month}: {step.decision}",
            step.text + ("\n" + queued.explain() if queued.request_ids or queued.skipped else ""),
            recipients=provider.mail_to,
        )
        mail_status = mail.status
    return dg.MaterializeResult(
        metadata={
            "decision": step.decision,
            "changes": len(changes),
            "requests": len(queued.request_ids),
            "devices_not_queued": len(queued.skipped),
            "explanation": step.text,
            "mail": mail_status,
        }
    )


optimization_assets = [
    comm_plan_groups,
    optimization_queues,
    optimization_results,
    winning_results,
    optimization_report,
    rate_plan_updates,
]
defs = dg.Definitions(assets=optimization_assets)
