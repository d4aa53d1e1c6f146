"""Names of the people who file and approve changes, compared as people mean them: case and
surrounding spaces never make another person (with identities, `identities.py`, the names come
from authenticated users; without them, typed names are compared the same way)."""

from __future__ import annotations


def normalized(name: str) -> str:
    return name.strip().casefold()


def same_person(a: str, b: str) -> bool:
    return normalized(a) == normalized(b)
