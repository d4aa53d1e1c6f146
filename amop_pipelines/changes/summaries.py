"""The summary a finished change request sends: counts by state, the cost recalculated after rate
plan changes, every failure with its reason.

Requests filed together (a Go run's batches of 250 devices share a `filing_group`) send one
summary for the whole group, once, when the last of them finishes. A request that waits for
approval sends its approvers a notice when it is filed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select, update

from amop_pipelines.changes.cost_impact import cost_impact
from amop_pipelines.changes.states import FINISHED, ITEM_FAILURES
from amop_pipelines.db.models import ChangeItem, ChangeRequest
from amop_pipelines.db.retry import unit_of_work

REPORTED = ":reported"  # appended to a group's name once its summary is sent


@dataclass(frozen=True)
class Summary:
    subject: str
    body: str
    costs: dict[str, str] = field(default_factory=dict)  # cost before, after, change (rate plan changes)


@unit_of_work  # reads, then its one write (the group's claim) last: safe to run again
def summary_for(engine: Engine, request_id: str) -> Summary | None:
    """The summary to send now that `request_id` finished, or None: the request is not finished,
    another request of its group is not, or the group's summary went already."""
    with engine.connect() as connection:
        request = connection.execute(
            select(ChangeRequest.state, ChangeRequest.filing_group).where(
                ChangeRequest.request_id == request_id
            )
        ).one()
        if request.state not in FINISHED:
            return None
        group = request.filing_group
        if group is None:
            members = [(request_id, request.state)]
        else:
            members = [
                tuple(row)
                for row in connection.execute(
                    select(ChangeRequest.request_id, ChangeRequest.state)
                    .where(ChangeRequest.filing_group == group)
                    .order_by(ChangeRequest.id)
                )
            ]
            if group.endswith(REPORTED) or any(state not in FINISHED for _, state in members):
                return None
        ids = [member for member, _ in members]
        items = connection.execute(
            select(ChangeItem.iccid, ChangeItem.state, ChangeItem.last_error)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .where(ChangeRequest.request_id.in_(ids))
            .order_by(ChangeRequest.id, ChangeItem.row_number)
        ).all()
    counts = Counter(item.state for item in items)
    states = {s for _, s in members}
    state = states.pop() if len(states) == 1 else "completed_with_errors"
    what = (
        f"Change request {request_id}" if group is None else f"{len(ids)} requests filed together ({group})"
    )
    lines = [f"{what}: {state}.", f"Items: {', '.join(f'{s} {n}' for s, n in sorted(counts.items()))}."]
    if group is not None:
        lines.append(f"Requests: {', '.join(ids)}.")
    impact = cost_impact(engine, ids)
    if impact is not None:
        lines.append(impact.line().capitalize() + ".")
    lines += [
        f"{item.iccid}: {item.last_error or item.state}" for item in items if item.state in ITEM_FAILURES
    ]
    subject_id = request_id if group is None else group
    costs = (
        {}
        if impact is None
        else {
            "cost_before": str(impact.before),
            "cost_after": str(impact.after),
            "cost_change": f"{impact.change:+}",
        }
    )
    if group is not None and not _claim(engine, group):
        return None  # another run finishing a sibling at the same moment sends it
    return Summary(f"AMOP change request {subject_id}: {state}", "\n".join(lines), costs)


def _claim(engine: Engine, group: str) -> bool:
    """Marks the group reported; true for the one caller that did (an atomic conditional update)."""
    with engine.begin() as connection:
        claimed = connection.execute(
            update(ChangeRequest)
            .where(ChangeRequest.filing_group == group)
            .values(filing_group=group + REPORTED)
        ).rowcount
    return claimed > 0


def approval_notice(engine: Engine, request_id: str) -> Summary | None:
    """The notice approvers get when a request waits for them (None when it does not)."""
    with engine.connect() as connection:
        request = connection.execute(
            select(
                ChangeRequest.change_type,
                ChangeRequest.state,
                ChangeRequest.requested_by,
                ChangeRequest.approvals_required,
                ChangeRequest.source,
            ).where(ChangeRequest.request_id == request_id)
        ).one()
        items = connection.scalar(
            select(func.count())
            .select_from(ChangeItem)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .where(ChangeRequest.request_id == request_id)
        )
    if request.state != "awaiting_approval":
        return None
    body = "\n".join(
        [
            f"Change request {request_id} ({request.change_type}, {items} devices) waits for "
            f"{request.approvals_required} approval(s).",
            f"Requested by {request.requested_by}, from {request.source}.",
            "Nobody approves their own request. To approve:",
            f"  amop changes approve {request_id} --by <your name>",
            f"To see its items first: amop changes status {request_id}",
        ]
    )
    return Summary(f"AMOP change request {request_id} waits for approval", body)
