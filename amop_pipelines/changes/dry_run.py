"""A dry run before filing: the file checked by the same rules as `submit`, each item's change as
it would be made (the device's value now -> the new one), and for rate plan changes what they
would do to the running month's cost, priced by the cost engine. Nothing is stored."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from amop_pipelines.changes.cost_impact import CostImpact, planned_cost_impact
from amop_pipelines.changes.requests import checked_file, current_values

# a column that replaces one of the device's values, and which (`current_values`' names)
REPLACES = {"rate_plan": "plan_code", "status": "status", "new_iccid": "iccid", "new_imei": "imei"}


@dataclass
class DryRun:
    change_type: str
    items: list[str] = field(default_factory=list)
    impacts: list[CostImpact] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"dry run of {self.change_type}: {len(self.items)} items would be filed; nothing was stored",
            *self.items,
            *(impact.line().replace("devices changed", "devices would change") for impact in self.impacts),
        ]


def dry_run(engine: Engine, change_type: str, path: Path, requested_by: str) -> DryRun:
    valid = checked_file(engine, change_type, path, requested_by)
    now = current_values(engine, [item.device_id for item in valid])
    result = DryRun(change_type)
    planned: dict[int, dict[int, str]] = defaultdict(dict)
    for item in valid:
        current = now[item.device_id]
        changes = [
            f"{key} {getattr(current, REPLACES[key]) or '-'} -> {value}"
            if key in REPLACES
            else f"{key} = {value}"
            for key, value in item.parameters.items()
        ]
        result.items.append(f"{Path(path).name}:{item.line}: {item.iccid}: {'; '.join(changes)}")
        if change_type == "change_carrier_rate_plan":
            planned[current.service_provider_id][item.device_id] = item.parameters["rate_plan"]
    for provider_id, plans in planned.items():
        impact = planned_cost_impact(engine, provider_id, plans)
        if impact is not None:
            result.impacts.append(impact)
    return result
