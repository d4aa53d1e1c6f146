"""Rate plan update automation (the seeds' phase 6.2): push the winning plans before close, or not.

Go when the time left before billing close, minus the time pushing every beneficial change takes
at the carrier's measured throughput, is at least 10 minutes; then the changes are queued as
Change Carrier Rate Plan requests of at most 250 devices each. No Go otherwise. Both are notified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

T = TypeVar("T")

MARGIN = timedelta(minutes=10)
BATCH_SIZE = 250


@dataclass(frozen=True)
class Decision:
    go: bool
    changes: int
    time_left: timedelta
    estimated: timedelta

    @property
    def spare(self) -> timedelta:
        return self.time_left - self.estimated

    def explain(self) -> str:
        verdict = "Go" if self.go else "No Go"
        return (
            f"{verdict}: {self.changes:,} plan changes need about {_minutes(self.estimated)} at the "
            f"carrier's throughput; {_minutes(self.time_left)} are left before billing close "
            f"({_minutes(self.spare)} spare, {_minutes(MARGIN)} needed)"
        )


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:,.1f} min"


def decide(now: datetime, closes_at: datetime, changes: int, changes_per_second: float) -> Decision:
    if changes_per_second <= 0:
        raise ValueError("the carrier's throughput must be above zero")
    estimated = timedelta(seconds=changes / changes_per_second)
    time_left = closes_at - now
    return Decision(time_left - estimated >= MARGIN, changes, time_left, estimated)


@dataclass(frozen=True)
class NextStep:
    """What becomes of a month's recommendations, as the report tells finance."""

    decision: str  # "Go", "No Go", "Off", "Closed" or "Nothing to push"
    text: str


def next_step(
    now: datetime, closes_at: datetime, changes: int, changes_per_second: float, auto_update: bool
) -> NextStep:
    """The Go / No Go rule above, said for the report (rate_plan_updates applies it right after)."""
    if now >= closes_at:
        return NextStep(
            "Closed", "The billing period has closed: nothing is pushed for it; the figures are for review."
        )
    if changes == 0:
        return NextStep(
            "Nothing to push", "Every device is already on its recommended plan: nothing changes."
        )
    if not auto_update:
        return NextStep(
            "Off",
            f"Automatic updates are off for this account: the {changes:,} recommended plan changes are "
            "not pushed. To apply them, submit the changed devices (Assignments, Changed = yes) as a "
            "Change Carrier Rate Plan file before the period closes.",
        )
    decision = decide(now, closes_at, changes, changes_per_second)
    if decision.go:
        return NextStep(
            "Go",
            f"Go: the {changes:,} plan changes are queued for the carrier right after this report and "
            f"need about {_minutes(decision.estimated)} at {changes_per_second:g} a second, "
            f"{_minutes(decision.spare)} before close.",
        )
    return NextStep("No Go", decision.explain() + ": nothing is pushed automatically.")


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
