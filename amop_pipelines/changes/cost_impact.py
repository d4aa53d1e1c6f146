"""The seeds' "cost recalculation" after Change Carrier Rate Plan: the provider's running month as
the optimizer prices it (usage projected to the cycle's end, pooled plans as pools), on the plans
the changed devices had before the request and on the plans they have now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amop_pipelines.billing import period_containing
from amop_pipelines.db.models import BillingPeriod, ChangeItem, ChangeRequest, ServiceProvider
from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.planning.inputs import load_month


@dataclass(frozen=True)
class CostImpact:
    billing_month: str
    devices: int  # changed devices priced
    before: Decimal  # the month's cost on the plans before the request
    after: Decimal  # and on the plans now

    @property
    def change(self) -> Decimal:
        return self.after - self.before

    def line(self) -> str:
        return (
            f"monthly cost {self.billing_month}, the whole account projected: {self.before} -> "
            f"{self.after} ({self.change:+}); {self.devices} devices changed"
        )


def current_time() -> datetime:
    """The clock the projections are made at (a test holds it still between a dry run and the
    recalculation after the change, since a projection moves as the period's days pass)."""
    return datetime.now(UTC)


def cost_impact(
    engine: Engine, request_ids: str | Sequence[str], now: datetime | None = None
) -> CostImpact | None:
    """The month before and after the request's (or requests', all of one account) completed
    items. None when there is nothing to price: another change type, no completed item, or no
    usage recorded for the provider's running period yet."""
    now = now or current_time()
    ids = [request_ids] if isinstance(request_ids, str) else list(request_ids)
    with Session(engine) as session:
        requests = session.scalars(select(ChangeRequest).where(ChangeRequest.request_id.in_(ids))).all()
        if (
            any(
                r.change_type != "change_carrier_rate_plan" or r.service_provider_id is None for r in requests
            )
            or len({r.service_provider_id for r in requests}) != 1
        ):
            return None
        request = requests[0]
        previous = {
            device_id: values["rate_plan"]
            for device_id, values in session.execute(
                select(ChangeItem.device_id, ChangeItem.previous_values).where(
                    ChangeItem.change_request_id.in_([r.id for r in requests]),
                    ChangeItem.state == "completed",
                )
            )
            if values and values.get("rate_plan")
        }
        provider, period, billing_period = _running_period(session, request.service_provider_id, now)
    if not previous or billing_period is None:
        return None
    current, previous_total, changed = _month_with(engine, provider, billing_period, period, previous, now)
    return CostImpact(period.billing_month, changed, previous_total, current)


def planned_cost_impact(
    engine: Engine, provider_id: int, planned: dict[int, str], now: datetime | None = None
) -> CostImpact | None:
    """What changing these devices' plans (device id -> plan code) would do to the provider's
    running month, before anything is filed (a dry run). None without usage for the period yet."""
    now = now or current_time()
    with Session(engine) as session:
        provider, period, billing_period = _running_period(session, provider_id, now)
    if not planned or billing_period is None:
        return None
    current, planned_total, changed = _month_with(engine, provider, billing_period, period, planned, now)
    return CostImpact(period.billing_month, changed, current, planned_total)


def _running_period(session: Session, provider_id: int, now: datetime) -> tuple:
    """The provider, its billing period running at `now`, and that period's row (None before its
    first sync)."""
    provider = session.get(ServiceProvider, provider_id)
    session.expunge(provider)
    period = period_containing(
        now, provider.billing_cycle_end_day, provider.billing_cycle_end_hour, provider.time_zone
    )
    billing_period = session.scalars(
        select(BillingPeriod).filter_by(service_provider_id=provider.id, billing_month=period.billing_month)
    ).one_or_none()
    if billing_period is not None:
        session.expunge(billing_period)
    return provider, period, billing_period


def _month_with(engine, provider, billing_period, period, replaced: dict[int, str], now) -> tuple:
    """The month priced on the devices' current plans and with some devices on other plans:
    (current total, total with the replacements, devices replaced)."""
    loaded = load_month(engine, provider.id, billing_period, period, as_of=now)
    problem = loaded.problem
    current = problem.devices.current.copy()
    other = current.copy()
    plan_index = {code: index for index, code in enumerate(problem.plans.codes)}
    changed = 0
    for row, device_id in enumerate(loaded.device_ids.tolist()):
        if device_id in replaced and replaced[device_id] in plan_index:
            other[row] = plan_index[replaced[device_id]]
            changed += 1
    priced = np.flatnonzero((current >= 0) & (other >= 0))  # devices on a plan the optimizer knows
    sub = problem.subset(priced)
    return assignment_cost(sub, current[priced]).total, assignment_cost(sub, other[priced]).total, changed
