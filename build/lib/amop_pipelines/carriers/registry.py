"""Every carrier AMOP speaks, declared once by its own module (its `KIND`) and read by everything
else: the resource that builds clients, change validation, the CLI. An unknown integration is
refused here. Adding a carrier is one module and one line below (docs/GUIDE.md, "Adding a carrier").
"""

from __future__ import annotations

from amop_pipelines.carriers import jasper, thingspace
from amop_pipelines.carriers.base import CarrierConfigError, CarrierKind

CARRIERS: dict[str, CarrierKind] = {kind.integration: kind for kind in (jasper.KIND, thingspace.KIND)}


def carrier_kind(integration: str) -> CarrierKind:
    kind = CARRIERS.get(integration)
    if kind is None:
        raise CarrierConfigError(
            f"unknown carrier integration '{integration}'; known: {', '.join(sorted(CARRIERS))}"
        )
    return kind
