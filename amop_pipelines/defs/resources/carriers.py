"""Carrier clients as a Dagster resource: secrets from the environment, the target per provider.

Which carrier and which base URL come from the service provider's row; a provider without a
base URL talks to the local simulator (AMOP_CARRIER_BASE_URL, default http://127.0.0.1:8710).
Unset credentials fall back to the simulator's demo credentials, which open nothing real.
"""

from __future__ import annotations

import os

import dagster as dg

from amop_pipelines.carriers.base import CarrierClient
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.policy import Policy
from amop_pipelines.carriers.thingspace import ThingSpaceClient
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.simulator.state import Credentials

DEFAULT_BASE_URL = "http://127.0.0.1:8710"
_DEMO = Credentials()


class CarrierClients(dg.ConfigurableResource):
    """Builds the right client for a service provider."""

    default_base_url: str = DEFAULT_BASE_URL
    jasper_username: str = _DEMO.jasper_username
    jasper_api_key: str = _DEMO.jasper_api_key
    thingspace_client_id: str = _DEMO.thingspace_client_id
    thingspace_client_secret: str = _DEMO.thingspace_client_secret
    thingspace_username: str = _DEMO.thingspace_username
    thingspace_password: str = _DEMO.thingspace_password
    timeout_seconds: float = 30.0

    def for_provider(self, provider: ServiceProvider) -> CarrierClient:
        base = (provider.base_url or self.default_base_url).rstrip("/")
        policy = Policy(
            requests_per_second=provider.rate_limit_per_second,
            max_in_flight=1 if provider.integration == "jasper" else 4,
            timeout_seconds=self.timeout_seconds,
        )
        if provider.integration == "jasper":
            return JasperClient(f"{base}/rws/api/v1", self.jasper_username, self.jasper_api_key, policy)
        if provider.integration == "thingspace":
            return ThingSpaceClient(
                base,
                provider.account_name,
                self.thingspace_client_id,
                self.thingspace_client_secret,
                self.thingspace_username,
                self.thingspace_password,
                policy,
            )
        raise ValueError(
            f"service provider '{provider.name}' has unknown integration '{provider.integration}'"
        )


_ENV = {
    "default_base_url": "AMOP_CARRIER_BASE_URL",
    "jasper_username": "AMOP_JASPER_USERNAME",
    "jasper_api_key": "AMOP_JASPER_API_KEY",
    "thingspace_client_id": "AMOP_THINGSPACE_CLIENT_ID",
    "thingspace_client_secret": "AMOP_THINGSPACE_CLIENT_SECRET",
    "thingspace_username": "AMOP_THINGSPACE_USERNAME",
    "thingspace_password": "AMOP_THINGSPACE_PASSWORD",
}


def carriers_from_env() -> CarrierClients:
    """Each setting from its environment variable when set (as an EnvVar, never shown)."""
    return CarrierClients(**{field: dg.EnvVar(var) for field, var in _ENV.items() if os.environ.get(var)})


defs = dg.Definitions(resources={"carriers": carriers_from_env()})
