"""Carrier clients as a Dagster resource: the carrier registry builds each provider's client.

Which carrier and which base URL come from the service provider's row; a provider without a
base URL talks to `default_base_url` (AMOP_CARRIER_BASE_URL, default the local simulator).
Credentials are per account and never default to anything: given in `credentials` (by provider
name, or by integration for every account of that carrier; the demo and the tests pass the
simulator's), else read at first use from the environment, `AMOP_<PROVIDER>_<NAME>` first
(AMOP_ACME_IOT_JASPER_API_KEY) and `AMOP_<INTEGRATION>_<NAME>` (AMOP_JASPER_API_KEY) for every
account of a carrier. A provider without them fails naming the variables to set.
"""

from __future__ import annotations

import re

import dagster as dg

from amop_pipelines.carriers.base import CallbackInbox, CarrierClient, CarrierConfigError, Target
from amop_pipelines.carriers.policy import Policy
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.settings import CARRIER_BASE_URL_ENV, SETTINGS, first_set, is_set

DEFAULT_BASE_URL = SETTINGS[CARRIER_BASE_URL_ENV].default or ""
# Steps that call a carrier carry this op tag: a run takes one at a time (the executor's tag
# limit, `defs/shared/executor.py`), so that a run stays within its account's rate limit.
# Runs of one account take turns by their run tag (dagster.yaml's run queue); other accounts'
# runs go side by side.
CARRIER_CALLS = {"amop/carrier-calls": "account"}
ACCOUNT_TAG = "amop/carrier-account"


def _env_name(*parts: str) -> str:
    return "AMOP_" + "_".join(re.sub(r"[^A-Z0-9]+", "_", p.upper()).strip("_") for p in parts)


def credentials_from_env(provider: ServiceProvider, names: tuple[str, ...]) -> dict[str, str]:
    """Each credential from AMOP_<PROVIDER>_<NAME>, else AMOP_<INTEGRATION>_<NAME>; a clear error
    naming every variable that is missing."""
    found, missing = {}, []
    for name in names:
        own, shared = _env_name(provider.name, name), _env_name(provider.integration, name)
        value = first_set(own, shared)
        if value:
            found[name] = value
        else:
            missing.append(f"{own} (or {shared})")
    if missing:
        raise CarrierConfigError(
            f"service provider '{provider.name}' ({provider.integration}) has no credentials: set "
            + ", ".join(missing)
        )
    return found


class CarrierClients(dg.ConfigurableResource):
    """Builds the right client for a service provider."""

    default_base_url: str = DEFAULT_BASE_URL
    # provider name (or integration) -> credential name -> value; empty: from the environment
    credentials: dict[str, dict[str, str]] = {}  # noqa: RUF012 (pydantic copies defaults)
    timeout_seconds: float = 30.0
    usage_wait_seconds: float | None = None  # overrides the accounts' own setting
    # overrides the accounts' own rate limits: for a carrier simulator whose limits are lifted
    rate_limit_per_second: float | None = None

    def for_provider(self, provider: ServiceProvider, inbox: CallbackInbox | None = None) -> CarrierClient:
        kind = carrier_kind(provider.integration)
        given = self.credentials.get(provider.name) or self.credentials.get(provider.integration)
        credentials = dict(given) if given else credentials_from_env(provider, kind.credentials)
        missing = [name for name in kind.credentials if not credentials.get(name)]
        if missing:
            raise CarrierConfigError(
                f"service provider '{provider.name}': credentials lack {', '.join(missing)}"
            )
        settings = dict(provider.carrier_settings or {})
        unknown = sorted(set(settings) - set(kind.settings))
        if unknown:
            raise CarrierConfigError(
                f"service provider '{provider.name}': unknown carrier settings {', '.join(unknown)}"
                f" ({kind.integration} takes {', '.join(kind.settings) or 'none'})"
            )
        if self.usage_wait_seconds is not None and "usage_wait_seconds" in kind.settings:
            settings["usage_wait_seconds"] = self.usage_wait_seconds
        base = (provider.base_url or self.default_base_url).rstrip("/")
        policy = Policy(
            requests_per_second=self.rate_limit_per_second or provider.rate_limit_per_second,
            max_in_flight=kind.max_in_flight,
            timeout_seconds=self.timeout_seconds,
        )
        target = Target(base + kind.api_path, provider.account_name, credentials, settings, policy, inbox)
        return kind.build(target)


def carriers_from_env() -> CarrierClients:
    """The base URL from its environment variable when set; credentials at first use (above)."""
    if is_set(CARRIER_BASE_URL_ENV):
        return CarrierClients(default_base_url=dg.EnvVar(CARRIER_BASE_URL_ENV))
    return CarrierClients()


defs = dg.Definitions(resources={"carriers": carriers_from_env()})
