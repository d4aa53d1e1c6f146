"""Queueing the optimization's plan changes as Change Carrier Rate Plan requests, in batches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from amop_pipelines.changes.requests import create_request
from amop_pipelines.changes.types import change_carrier_rate_plan
from amop_pipelines.planning.automation import batches


def queue_rate_plan_changes(
    engine: Engine,
    provider_id: int,
    changes: Sequence[tuple[int, str, str, str | None]],  # (device id, iccid, new plan, previous plan)
    requested_by: str,
    source: str,
) -> list[str]:
    """One request per batch of at most 250 devices, all in one transaction; returns their ids.

    The previous plan is kept on each item, so that a rollback request can be made from it.
    """
    with engine.begin() as connection:
        return [
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
                provider_id,
            )
            for batch in batches(list(changes))
        ]
