"""What a change type is. Each type is declared once, in its own module under `changes/types/`
(its CSV columns, validation rule, handler, whether it needs approval) and registered in
`changes/registry.py`; file reading, validation, approvals, execution, the launchpad jobs and the
CLI all read the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.models import ChangeAccepted
from amop_pipelines.db.models import Device

ONE_STEP = ("change",)

ProblemSink = Callable[[str, str], None]  # (field, message) of the row being validated
# A type's own checks of one row, after the ICCID is well formed and names a live device.
Rule = Callable[[Session, Device, dict[str, str], ProblemSink], None]


class Handler(Protocol):
    def steps(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], provider: Any
    ) -> tuple[str, ...]:
        """The walk this item takes, planned once at its first attempt."""

    def not_before(self, parameters: dict[str, Any], provider: Any) -> datetime | None:
        """When the item may run (an effective date), or None for now."""

    def apply(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], key: str, step: str
    ) -> ChangeAccepted: ...

    def already_applied(
        self, client: CarrierClient, iccid: str, parameters: dict[str, Any], step: str
    ) -> bool: ...

    def effect(
        self, engine: Engine, device: Any, parameters: dict[str, Any], provider: Any, step: str
    ) -> None:
        """What the step changes in the AMOP database once the carrier confirmed it."""

    def undo(
        self, engine: Engine, client: CarrierClient, device: Any, parameters: dict[str, Any], done: list[str]
    ) -> list[str]:
        """A later step failed: take back what the `done` steps did, at the carrier and here, as
        far as it can be taken back. Returns what was (or could not be) undone, for the audit."""


class OneStep:
    """A change the carrier takes in one call: nothing done before it that a failure leaves."""

    def steps(self, client, iccid, parameters, provider) -> tuple[str, ...]:
        return ONE_STEP

    def not_before(self, parameters, provider) -> datetime | None:
        return None

    def undo(self, engine, client, device, parameters, done) -> list[str]:
        return []


class AmopOnly(OneStep):
    """Changes of AMOP's own records: nothing to send, so nothing the carrier could repeat."""

    def apply(self, client, iccid, parameters, key, step="change"):
        return ChangeAccepted(iccid, key, asynchronous=False)

    def already_applied(self, client, iccid, parameters, step="change"):
        return False


@dataclass(frozen=True)
class Column:
    name: str
    description: str  # shown on the launchpad and in the CLI's help
    required: bool = True


@dataclass(frozen=True)
class ChangeType:
    name: str
    title: str  # as operators say it: "Change Carrier Rate Plan"
    columns: tuple[Column, ...]  # of its CSV file (DESIGN.md section 5); the first is always iccid
    rule: Rule
    handler: Handler
    always_critical: bool = False  # needs approval whatever its size
    critical_item: Callable[[dict[str, str]], bool] | None = None  # an item that makes it critical
    requester_problem: Callable[[str], str | None] | None = None  # who may file it at all

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def is_critical(self, parameters: Sequence[dict[str, str]]) -> bool:
        """Critical by its nature, or by one of its items (a size threshold is the caller's)."""
        return self.always_critical or (
            self.critical_item is not None and any(self.critical_item(p) for p in parameters)
        )
