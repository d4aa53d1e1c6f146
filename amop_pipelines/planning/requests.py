"""Queueing the optimization's plan changes as Change Carrier Rate Plan requests, in batches.

A Go run files its batches as one filing group (one summary mail when the last finishes), and
leaves out the devices that cannot take a plan change now: one already under way (a repeated Go
run queues nothing twice) or the carrier's monthly limit reached (ThingSpace: 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from amop_pipelines.changes.priorities import GO_RUN
from amop_pipelines.changes.requests import create_request
from amop_pipelines.changes.types import change_carrier_rate_plan
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.planning.automation import batches


@dataclass(frozen=True)
class Queued:
    request_ids: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (ICCID, why it was not queued)

    def explain(self) -> str:
        lines = [f"Queued requests: {', '.join(self.request_ids)}"] if self.request_ids else []
        if self.skipped:
            lines.append(f"{len(self.skipped):,} devices not queued:")
            lines += [f"  {iccid}: {why}" for iccid, why in self.skipped[:50]]
            if len(self.skipped) > 50:
                lines.append(f"  ... and {len(self.skipped) - 50:,} more")
        return "\n".join(lines)


def queue_rate_plan_changes(
    engine: Engine,
    provider: ServiceProvider,
    changes: Sequence[tuple[int, str, str, str | None]],  # (device id, iccid, new plan, previous plan)
    requested_by: str,
    source: str,
    filing_group: str | None = None,
) -> Queued:
    """One request per batch of at most 250 devices, all in one transaction.

    The previous plan is kept on each item, so that a rollback request can be made from it.
    """
    with engine.begin() as connection:
        blockers = change_carrier_rate_plan.plan_change_blockers(
            connection, provider, [device_id for device_id, *_ in changes]
        )
        queued = [change for change in changes if change[0] not in blockers]
        request_ids = [
            create_request(
                connection,
                change_carrier_rate_plan.TYPE.name,
                [
                    {
                        "iccid": iccid,
                        "device_id": device_id,
                        "parameters": {"rate_plan": plan},
                        "previous_values": {"rate_plan": previous},
                    }
                    for device_id, iccid, plan, previous in batch
                ],
                requested_by,
                source,
                provider.id,
                filing_group,
                priority=GO_RUN,  # pushes before close go ahead of everything else of the account
            )
            for batch in batches(queued)
        ]
    skipped = [(iccid, blockers[device_id]) for device_id, iccid, *_ in changes if device_id in blockers]
    return Queued(request_ids, skipped)
