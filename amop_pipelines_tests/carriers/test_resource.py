"""The Dagster resource: the client per provider row from the carrier registry, credentials per
account from the environment (or given explicitly), never the simulator's by default."""

import dagster as dg
import pytest

from amop_pipelines.carriers.base import CarrierConfigError
from amop_pipelines.carriers.errors import AuthenticationError
from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.registry import CARRIERS
from amop_pipelines.carriers.thingspace import ThingSpaceClient
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.shared.carriers import carriers_from_env
from amop_pipelines.demo.carriers import simulator_carriers, simulator_credentials

ENV_NAMES = [
    f"AMOP_{carrier.upper()}_{name.upper()}"
    for carrier, kind in CARRIERS.items()
    for name in kind.credentials
]


def _provider(sim, integration: str, name: str | None = None, **settings) -> ServiceProvider:
    return ServiceProvider(
        name=name or integration,
        integration=integration,
        account_name=sim.state.accounts.get(integration, "ACME"),
        base_url=sim.base_url,
        rate_limit_per_second=50,
        carrier_settings=settings or None,
    )


@pytest.fixture
def clean_env(monkeypatch):
    for var in [*ENV_NAMES, "AMOP_CARRIER_BASE_URL"]:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_the_provider_row_chooses_the_carrier_from_the_registry(sim):
    carriers = simulator_carriers(sim.base_url)
    jasper = carriers.for_provider(_provider(sim, "jasper"))
    thingspace = carriers.for_provider(_provider(sim, "thingspace", mdn_zip_code="60601"))
    assert isinstance(jasper, JasperClient) and isinstance(thingspace, ThingSpaceClient)
    assert jasper.rate_plans() and thingspace.rate_plans()
    assert thingspace.settings.mdn_zip_code == "60601"
    with pytest.raises(
        CarrierConfigError, match=r"unknown carrier integration 'sprint'; known: jasper, thingspace"
    ):
        carriers.for_provider(_provider(sim, "sprint"))
    with pytest.raises(CarrierConfigError, match=r"unknown carrier settings zip \(thingspace takes"):
        carriers.for_provider(_provider(sim, "thingspace", zip="60601"))


def test_a_provider_without_credentials_fails_naming_what_to_set(sim, clean_env):
    with (
        dg.build_resources({"carriers": carriers_from_env()}) as resources,
        pytest.raises(CarrierConfigError) as refused,
    ):
        resources.carriers.for_provider(_provider(sim, "jasper", name="Acme IoT (Jasper)"))
    message = str(refused.value)
    assert "AMOP_ACME_IOT_JASPER_USERNAME (or AMOP_JASPER_USERNAME)" in message
    assert "AMOP_ACME_IOT_JASPER_API_KEY (or AMOP_JASPER_API_KEY)" in message


def test_two_accounts_of_one_carrier_use_their_own_credentials(sim, clean_env):
    good = simulator_credentials()["jasper"]
    clean_env.setenv("AMOP_JASPER_USERNAME", good["username"])  # shared by both accounts
    clean_env.setenv("AMOP_EAST_API_KEY", good["api_key"])
    clean_env.setenv("AMOP_WEST_API_KEY", "a-key-the-carrier-does-not-know")
    with dg.build_resources({"carriers": carriers_from_env()}) as resources:
        east = resources.carriers.for_provider(_provider(sim, "jasper", name="east"))
        west = resources.carriers.for_provider(_provider(sim, "jasper", name="west"))
    assert east.rate_plans()
    with pytest.raises(AuthenticationError) as refused:
        west.rate_plans()
    assert "a-key-the-carrier-does-not-know" not in str(refused.value)
