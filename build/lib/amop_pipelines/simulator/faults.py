"""Fault settings of the simulator, per carrier and optionally per route."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass
class Faults:
    """What a carrier (or one of its routes) does wrong. Defaults are the carriers' own limits."""

    rate_limit_per_second: float = 5.0  # 0: no limit
    max_in_flight: int = 1  # calls of one account served at once; 0: no limit
    retry_after_seconds: float = 1.0
    error_rate: float = 0.0  # fraction of calls answered 500 or 503
    throttle_rate: float = 0.0  # fraction of calls answered 429 whatever the rate
    hang_rate: float = 0.0  # fraction of calls that hang for `hang_seconds` before answering
    hang_seconds: float = 0.0
    hang_after_rate: float = 0.0  # fraction of calls applied, then answered only after `hang_seconds`
    callback_delay_seconds: float = 0.0
    callback_drop_rate: float = 0.0  # callbacks never sent
    callback_duplicate_rate: float = 0.0  # callbacks sent twice
    callback_reorder: bool = False  # callbacks of a batch sent in random order
    callback_fail_rate: float = 0.0  # changes that fail (a Failed callback) though valid
    activation_pending_seconds: float = 0.0  # ThingSpace: an activation stays `pending activation`
    identifier_service_type: str = ""  # *unverified* serviceType of the identifier change; "": any
    usage_refused_plans: list[str] = field(default_factory=list)  # Jasper bulk usage refused
    edit_ignored_rate: float = 0.0  # Jasper: edits answered 200 but not applied (some tenants)

    def merged(self, changes: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = {
    "jasper": Faults(rate_limit_per_second=5.0, max_in_flight=1),
    "thingspace": Faults(rate_limit_per_second=10.0, max_in_flight=4),
}


class FaultBook:
    """Current faults: a carrier-wide setting, overridden per route path prefix."""

    def __init__(self, seed: int = 0):
        self.carrier = {name: replace(faults) for name, faults in DEFAULTS.items()}
        self.routes: dict[tuple[str, str], Faults] = {}
        self.random = random.Random(seed)

    def for_route(self, carrier: str, path: str) -> Faults:
        for (name, prefix), faults in self.routes.items():
            if name == carrier and path.startswith(prefix):
                return faults
        return self.carrier[carrier]

    def set(self, carrier: str, changes: dict[str, Any], route: str | None = None) -> Faults:
        if carrier not in self.carrier:
            raise ValueError(f"unknown carrier '{carrier}'")
        if route:
            base = self.routes.get((carrier, route), self.carrier[carrier])
            self.routes[carrier, route] = base.merged(changes)
            return self.routes[carrier, route]
        self.carrier[carrier] = self.carrier[carrier].merged(changes)
        return self.carrier[carrier]

    def reset(self) -> None:
        self.carrier = {name: replace(faults) for name, faults in DEFAULTS.items()}
        self.routes.clear()

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.random.random() < rate
