"""Bulk work in a process that holds a month of a large account.

Python's cyclic garbage collector runs a full collection every so many allocations, and each walks
every live container object: with a million devices' rows alive, the collections of a loop that
makes millions of short-lived objects (rows read, cells written) cost more than its work. The
loops that load, store and write a month pause the collector; none of them makes reference cycles
(what they drop is freed by reference counting as usual).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused while the block runs (restored as it was, even on error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
