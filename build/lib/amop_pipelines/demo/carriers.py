"""The carrier simulator's demo credentials, passed explicitly wherever AMOP talks to it (the demo,
the tests, the benchmarks): AMOP itself never falls back to them."""

from __future__ import annotations

from typing import Any

from amop_pipelines.defs.shared.carriers import CarrierClients
from amop_pipelines.simulator.state import Credentials


def simulator_credentials(credentials: Credentials | None = None) -> dict[str, dict[str, str]]:
    c = credentials or Credentials()
    return {
        "jasper": {"username": c.jasper_username, "api_key": c.jasper_api_key},
        "thingspace": {
            "client_id": c.thingspace_client_id,
            "client_secret": c.thingspace_client_secret,
            "username": c.thingspace_username,
            "password": c.thingspace_password,
        },
    }


def simulator_carriers(base_url: str, **settings: Any) -> CarrierClients:
    """The carriers resource aimed at a running simulator, with its credentials."""
    return CarrierClients(default_base_url=base_url, credentials=simulator_credentials(), **settings)


def simulator_credentials_env(credentials: Credentials | None = None) -> dict[str, str]:
    """The same credentials as the environment gives them to every account of each carrier
    (AMOP_<INTEGRATION>_<NAME>): for processes that build the code location's own resources."""
    return {
        f"AMOP_{carrier.upper()}_{name.upper()}": value
        for carrier, values in simulator_credentials(credentials).items()
        for name, value in values.items()
    }
