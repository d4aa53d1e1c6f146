"""A dry run before filing: the file checked by the same rules as `submit`, each item's change as
it would be made (the device's value now -> the new one), and for rate plan changes what they
would do to the running month's cost, priced by the cost engine. Nothing is stored."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from amop_pipelines.changes.cost_impact import CostImpact, planned_cost_impact
from amop_pipelines.changes.csvfile import RejectedFile, read_change_file
from amop_pipelines.changes.registry import UnknownChangeType
from amop_pipelines.changes.registry import change_type as registered_type
from amop_pipelines.changes.requests import ChangeError, current_values
from amop_pipelines.changes.validation import validate

# a column that replaces one of the device's values, and which one
REPLACES = {"rate_plan": "rate_plan", "status": "status", "new_iccid": "iccid", "new_imei": "imei"}


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
    try:
        spec = registered_type(change_type)
    except UnknownChangeType as unknown:
        raise ChangeError(str(unknown)) from None
    rows = read_change_file(path, spec)
    valid, problems = validate(engine, spec, rows, str(path), requested_by)
    if problems:
        raise RejectedFile(sorted(problems, key=lambda p: (p.row, p.field)))
    now = {
        device_id: {
            "provider": row.service_provider_id,
            "status": row.status,
            "iccid": row.iccid,
            "imei": row.imei,
            "rate_plan": row.plan_code,
        }
        for device_id, row in current_values(engine, [item.device_id for item in valid]).items()
    }
    result = DryRun(change_type)
    planned: dict[int, dict[int, str]] = defaultdict(dict)
    for item in valid:
        current = now[item.device_id]
        changes = [
            f"{key} {current[REPLACES[key]] or '-'} -> {value}" if key in REPLACES else f"{key} = {value}"
            for key, value in item.parameters.items()
        ]
        result.items.append(f"{Path(path).name}:{item.line}: {item.iccid}: {'; '.join(changes)}")
        if change_type == "change_carrier_rate_plan":
            planned[current["provider"]][item.device_id] = item.parameters["rate_plan"]
    for provider_id, plans in planned.items():
        impact = planned_cost_impact(engine, provider_id, plans)
        if impact is not None:
            result.impacts.append(impact)
    return result
