"""Names of the people who file and approve changes, compared as people mean them (real
identities are for later: until then a typed name is all there is, so at least case and
surrounding spaces must not make another person)."""

from __future__ import annotations


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()
