"""Transient database errors retried around one unit of work: a dropped PostgreSQL connection,
a server restarting or shutting a session down, a serialization failure or deadlock, a locked
SQLite file.

A unit of work is a function whose transactions each commit whole or not at all and which may run
again from its start (a state transition guarded by the state it expects, an idempotent write).
It is tried up to ATTEMPTS times with pauses of 0.1 s doubling to 3 s (about 6 s in all), the
pool's pre-ping giving each attempt a live connection; anything else, or the last failure, is
raised as it was.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

log = logging.getLogger("amop.db")

ATTEMPTS = 6
# connection exceptions, admin/crash shutdown, cannot connect now, serialization failure, deadlock
TRANSIENT_SQLSTATES = {
    "08000",
    "08001",
    "08003",
    "08004",
    "08006",
    "57P01",
    "57P02",
    "57P03",
    "40001",
    "40P01",
}
TRANSIENT_MESSAGES = (
    "database is locked",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "connection refused",
    "could not connect",
    "consuming input failed",
    "ssl syscall",
)

_inside = contextvars.ContextVar("amop_unit_of_work", default=False)

P = ParamSpec("P")
R = TypeVar("R")


def is_transient(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in TRANSIENT_SQLSTATES:
        return True
    text = str(original).lower()
    return any(message in text for message in TRANSIENT_MESSAGES)


def _before_sleep(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "database error in %s (attempt %d of %d), trying again: %s",
        getattr(state.fn, "__qualname__", "a unit of work"),
        state.attempt_number,
        ATTEMPTS,
        str(error).splitlines()[0] if error else "?",
    )


def unit_of_work(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` again on a transient database error (see the module's docstring)."""

    @functools.wraps(fn)
    def retried(*args: P.args, **kwargs: P.kwargs) -> R:
        if _inside.get():  # a unit of work within another: the outer one runs the whole again
            return fn(*args, **kwargs)
        marker = _inside.set(True)
        try:
            return _retrying(fn, *args, **kwargs)
        finally:
            _inside.reset(marker)

    return retried


def _retrying(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    for attempt in Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential_jitter(multiplier=0.1, max=3),
        before_sleep=_before_sleep,
        reraise=True,
    ):
        with attempt:
            return fn(*args, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover
