"""The operator's price book: rate plan prices in the plans.csv contract (DESIGN.md section 5).

Carriers publish no prices (CARRIERS.md), so prices come only from here. Importing a book prices
the plans it lists (a plan AMOP has not seen yet is added, priced), sets which communication
plans allow each of them, and leaves plans it does not list as they were. A file with any bad row
is refused whole (`FILE:ROW: field: message`, the same rules as `amop optimize`'s plans file) and
nothing is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.db.models import (
    CarrierRatePlan,
    CommunicationPlan,
    CommunicationPlanRatePlan,
    OptimizationGroup,
    ServiceProvider,
)
from amop_pipelines.optimization.inputs import read_plans
from amop_pipelines.optimization.problem import MB_SCALE, MONEY_SCALE
from amop_pipelines.problems import InputError, InputProblem
from amop_pipelines.sync.rate_plans import account_comm_plan, unpriced_rate_plans


class PriceBookError(ValueError):
    """The import cannot start: no such provider."""


@dataclass
class PriceBookReport:
    priced: list[str] = field(default_factory=list)  # plans the carrier had listed, now priced
    added: list[str] = field(default_factory=list)  # plans AMOP had not seen: added, priced
    still_unpriced: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"priced {len(self.priced) + len(self.added)} rate plans ({len(self.added)} new to AMOP)",
            "still unpriced (never recommended): " + (", ".join(self.still_unpriced) or "none"),
        ]


def _lines_of_codes(path: Path) -> dict[str, int]:
    """Each plan code's line in the file, for messages that name it."""
    rows = list(csv.reader(io.StringIO(Path(path).read_bytes().decode("utf-8-sig"))))
    header = [c.strip() for c in rows[0]] if rows else []
    at = header.index("plan_code") if "plan_code" in header else 0
    return {row[at].strip(): line for line, row in enumerate(rows[1:], start=2) if len(row) > at}


def import_price_book(engine: Engine, provider_name: str, path: Path) -> PriceBookReport:
    table = read_plans(path)  # every format rule, all problems at once
    lines = _lines_of_codes(path)
    report = PriceBookReport()
    with Session(engine) as session, session.begin():
        provider = session.scalars(
            select(ServiceProvider).where(ServiceProvider.name == provider_name)
        ).first()
        if provider is None:
            known = ", ".join(session.scalars(select(ServiceProvider.name).order_by(ServiceProvider.name)))
            raise PriceBookError(f"no service provider '{provider_name}' (known: {known or 'none'})")
        comm = dict(
            session.execute(
                select(CommunicationPlan.name, CommunicationPlan.id).where(
                    CommunicationPlan.service_provider_id == provider.id
                )
            ).all()
        )
        # a carrier with communication plans names them; one without (ThingSpace) lets the
        # operator define AMOP's own groups of plans
        makes_comm_plans = not carrier_kind(provider.integration).has_communication_plans
        problems = [
            InputProblem(str(path), lines.get(code, 0), "comm_plans", f"unknown communication plan '{name}'")
            for code, names in zip(table.codes, table.comm_plans, strict=True)
            for name in sorted(names)
            if name not in comm and not makes_comm_plans
        ]
        if problems:
            raise InputError(problems)
        existing = {
            p.plan_code: p
            for p in session.scalars(
                select(CarrierRatePlan).where(CarrierRatePlan.service_provider_id == provider.id)
            )
        }
        groups = dict(
            session.execute(
                select(OptimizationGroup.name, OptimizationGroup.id).where(
                    OptimizationGroup.service_provider_id == provider.id
                )
            ).all()
        )
        for i, code in enumerate(table.codes):
            group_name = table.groups[i]
            if group_name and group_name not in groups:
                group = OptimizationGroup(service_provider_id=provider.id, name=group_name)
                session.add(group)
                session.flush()
                groups[group_name] = group.id
            values = {
                "monthly_charge": Decimal(int(table.charge[i])) / MONEY_SCALE,
                "allowance_mb": Decimal(int(table.allowance[i])) / MB_SCALE,
                "overage_rate": Decimal(int(table.rate[i])) / MONEY_SCALE,
                "overage_unit_mb": Decimal(int(table.unit[i])) / MB_SCALE,
                "sms_rate": Decimal(int(table.sms[i])) / MONEY_SCALE,
                "is_pooled": bool(table.pooled[i]),
                "optimization_group_id": groups.get(group_name) if group_name else None,
                "is_priced": True,
            }
            plan = existing.get(code)
            if plan is None:
                plan = CarrierRatePlan(
                    service_provider_id=provider.id,
                    plan_code=code,
                    name=code,
                    plan_type="Mobility" if group_name else "M2M",
                    **values,
                )
                session.add(plan)
                report.added.append(code)
            else:
                for key, value in values.items():
                    setattr(plan, key, value)
                report.priced.append(code)
            session.flush()
            for name in table.comm_plans[i]:
                if name not in comm:
                    made = CommunicationPlan(service_provider_id=provider.id, name=name)
                    session.add(made)
                    session.flush()
                    comm[name] = made.id
            session.execute(
                delete(CommunicationPlanRatePlan).where(
                    CommunicationPlanRatePlan.carrier_rate_plan_id == plan.id
                )
            )
            session.execute(
                insert(CommunicationPlanRatePlan),
                [
                    {"communication_plan_id": comm[n], "carrier_rate_plan_id": plan.id}
                    for n in sorted(table.comm_plans[i])
                ],
            )
        provider_id = provider.id
        account_comm_plan(session.connection(), provider_id, create=False)
    report.still_unpriced = unpriced_rate_plans(engine, provider_id)
    return report
