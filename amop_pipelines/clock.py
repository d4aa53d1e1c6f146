"""AMOP's clock: the time the period rules read (which period is open, whether it has closed).

It is the real time, except inside `shifted`, which `amop demo` uses to close a billing period
within one command: it moves this clock and the carrier simulator's by the same amount, so that
the sync reads the closed period's final usage and the realized savings can be priced. The shift
belongs to the process (the demo runs its jobs in its own process); nothing else sets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_shift = timedelta(0)


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC) + _shift


@contextmanager
def shifted(by: timedelta) -> Iterator[None]:
    """The clock `by` ahead while the block runs (never behind: time does not go back)."""
    global _shift
    if by < timedelta(0):
        raise ValueError(f"the clock only moves forward, not by {by}")
    before = _shift
    _shift = before + by
    try:
        yield
    finally:
        _shift = before
