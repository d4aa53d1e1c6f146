"""The Dagster resource: the client per provider row, secrets from the environment."""

import dagster as dg
import pytest

from amop_pipelines.carriers.errors import AuthenticationError
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.thingspace import ThingSpaceClient
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.resources.carriers import carriers_from_env


def _provider(sim, integration: str) -> ServiceProvider:
    return ServiceProvider(
        name=integration,
        integration=integration,
        account_name=sim.state.accounts[integration],
        base_url=sim.base_url,
        rate_limit_per_second=50,
    )


def test_the_provider_row_chooses_carrier_and_base_url(sim, monkeypatch):
    for var in ("AMOP_JASPER_API_KEY", "AMOP_CARRIER_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with dg.build_resources({"carriers": carriers_from_env()}) as resources:
        jasper = resources.carriers.for_provider(_provider(sim, "jasper"))
        thingspace = resources.carriers.for_provider(_provider(sim, "thingspace"))
    assert isinstance(jasper, JasperClient) and isinstance(thingspace, ThingSpaceClient)
    assert jasper.rate_plans() and thingspace.rate_plans()


def test_credentials_come_from_the_environment(sim, monkeypatch):
    monkeypatch.setenv("AMOP_JASPER_API_KEY", "a-key-the-carrier-does-not-know")
    resource = carriers_from_env()
    assert isinstance(resource.jasper_api_key, dg.EnvVar)  # never a plain value in the definitions
    with dg.build_resources({"carriers": resource}) as resources:
        client = resources.carriers.for_provider(_provider(sim, "jasper"))
    with pytest.raises(AuthenticationError) as refused:
        client.rate_plans()
    assert "a-key-the-carrier-does-not-know" not in str(refused.value)
