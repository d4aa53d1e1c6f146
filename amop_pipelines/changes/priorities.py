"""What goes first: a request's priority. Rate plan pushes before billing close (Go runs) go ahead
of everything else; an operator may mark a request high or low. The change sensor launches in
priority order and the run queue dequeues by the run's `dagster/priority` tag, so a push before
close never waits behind an earlier bulk request of the same account."""

from __future__ import annotations

PRIORITIES = {"low": -10, "normal": 0, "high": 10, "before-close": 20}
GO_RUN = PRIORITIES["before-close"]
OPERATOR_CHOICES = ("low", "normal", "high")  # before-close is the Go run's own


def name_of(priority: int) -> str:
    for name, value in sorted(PRIORITIES.items(), key=lambda item: item[1]):
        if priority <= value:
            return name
    return "before-close"
