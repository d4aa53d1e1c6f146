"""Both clients over real HTTP against the simulator: paging, retries, sessions, permanent errors."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import pytest

from amop_pipelines.carriers.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentCarrierError,
    TransientCarrierError,
)

from .conftest import CREDS, FAST, jasper_client, thingspace_client


def _carrier_iccids(sim, carrier: str) -> set[str]:
    return {d.iccid for d in sim.state.devices.values() if d.carrier == carrier}


def test_jasper_pages_through_every_device_once(sim):
    client = jasper_client(sim)
    devices = [d.iccid for d in client.iter_devices()]
    assert len(devices) >= 10_000
    assert len(devices) == len(set(devices))
    assert set(devices) == _carrier_iccids(sim, "jasper")
    assert client.pages_read == -(-len(devices) // 50)


def test_thingspace_pages_through_every_device_once(sim):
    client = thingspace_client(sim)
    devices = [d.iccid for d in client.iter_devices()]
    assert len(devices) > 9_000  # the account's 10,000, less spares other tests deleted
    assert len(devices) == len(set(devices))
    assert set(devices) == _carrier_iccids(sim, "thingspace")
    assert client.pages_read == -(-len(devices) // 2000)


def test_jasper_modified_since_returns_only_what_changed(sim):
    client = jasper_client(sim)
    iccid = next(iter(_carrier_iccids(sim, "jasper")))
    sim.change_device(iccid, status="DEACTIVATED")
    since = sim.state.now().replace(microsecond=0)
    sim.advance_clock(1)
    sim.change_device(iccid, ratePlan="J-POOL-5MB")
    changed = list(client.iter_devices(modified_since=since))
    assert [d.iccid for d in changed] == [iccid]
    assert changed[0].status == "DEACTIVATED" and changed[0].rate_plan == "J-POOL-5MB"


def test_a_429_with_retry_after_is_waited_out(sim):
    sim.set_faults("jasper", rate_limit_per_second=2, retry_after_seconds=0.5)
    client = jasper_client(sim)  # no client-side pacing: the carrier has to push back
    iccid = next(iter(_carrier_iccids(sim, "jasper")))
    started = time.monotonic()
    for _ in range(6):
        assert client.device(iccid).iccid == iccid
    assert client.http.retries >= 1
    assert time.monotonic() - started >= 0.5


def test_client_pacing_keeps_under_the_carriers_limit(sim):
    sim.set_faults("jasper", rate_limit_per_second=5, max_in_flight=1)
    limited_before = sim.stats()["rate_limited"]["jasper"]
    client = jasper_client(sim, replace(FAST, requests_per_second=5, max_in_flight=1))
    iccid = next(iter(_carrier_iccids(sim, "jasper")))
    for _ in range(12):
        client.device(iccid)
    assert sim.stats()["rate_limited"]["jasper"] == limited_before
    assert client.http.retries == 0


def test_a_full_sync_completes_with_20_percent_5xx(sim):
    clean = {d.iccid: d for d in jasper_client(sim).iter_devices()}
    clean_ts = {d.iccid: d for d in thingspace_client(sim).iter_devices()}
    sim.set_faults("jasper", error_rate=0.2)
    sim.set_faults("thingspace", error_rate=0.2)
    jasper, ts = jasper_client(sim), thingspace_client(sim)
    assert {d.iccid: d for d in jasper.iter_devices()} == clean
    assert {d.iccid: d for d in ts.iter_devices()} == clean_ts
    sample = sorted(clean_ts)[:300]  # without a DeviceUsage callback: one read a device
    usage = list(ts.iter_usage([clean_ts[i] for i in sample]))
    assert {u.iccid for u in usage} == set(sample)
    assert jasper.http.retries > 0 and ts.http.retries > 0


def test_an_expired_session_triggers_exactly_one_relogin(sim):
    client = thingspace_client(sim)
    client.rate_plans()
    logins = sim.stats()["logins"]
    assert client.logins == 1
    sim.expire_sessions()
    client.rate_plans()
    client.rate_plans()
    assert client.logins == 2
    assert sim.stats()["logins"] == logins + 1


def test_an_expired_access_token_is_renewed(sim):
    client = thingspace_client(sim)
    client.rate_plans()
    sim.advance_clock(3601)  # OAuth tokens live an hour
    assert client.rate_plans()
    assert client.logins == 2


def test_a_hung_response_times_out_and_is_retried(sim):
    sim.set_faults("jasper", route="/rws/api/v1/rateplans", hang_rate=1.0, hang_seconds=1.5)
    client = jasper_client(sim, replace(FAST, timeout_seconds=0.3, max_attempts=12))
    threading.Timer(
        0.5, lambda: sim.set_faults("jasper", route="/rws/api/v1/rateplans", hang_rate=0.0)
    ).start()
    assert client.rate_plans()
    assert client.http.calls > 1


def test_a_call_that_keeps_hanging_fails_as_transient(sim):
    sim.set_faults("jasper", route="/rws/api/v1/rateplans", hang_rate=1.0, hang_seconds=1.0)
    client = jasper_client(sim, replace(FAST, timeout_seconds=0.2, max_attempts=2))
    with pytest.raises(TransientCarrierError, match="timed out"):
        client.rate_plans()
    assert client.http.calls == 2


def test_permanent_errors_are_not_retried(sim):
    client = jasper_client(sim)
    with pytest.raises(NotFoundError):
        client.device("8901260999999999999")
    assert client.http.calls == 1
    iccid = next(iter(_carrier_iccids(sim, "jasper")))
    with pytest.raises(PermanentCarrierError, match="10000024"):
        client.change_rate_plan(iccid, "NO-SUCH-PLAN")
    assert client.http.calls == 2
    ts = thingspace_client(sim)
    with pytest.raises(PermanentCarrierError, match="ServicePlan"):
        ts.change_rate_plan(next(iter(_carrier_iccids(sim, "thingspace"))), "NO-SUCH-PLAN")
    assert ts.http.retries == 0


def test_bad_credentials_are_refused_without_retries(sim):
    client = jasper_client(sim, api_key="wrong-key")
    with pytest.raises(PermanentCarrierError, match="401"):
        client.rate_plans()
    assert client.http.calls == 1


def test_the_circuit_opens_on_a_carrier_that_keeps_failing(sim):
    sim.set_faults("jasper", error_rate=1.0)
    policy = replace(FAST, breaker_failures=3, breaker_cooldown_seconds=60, max_attempts=5)
    client = jasper_client(sim, policy)
    with pytest.raises(TransientCarrierError):
        client.rate_plans()
    assert client.http.calls == 3  # the rest were held back by the open circuit


def test_secrets_never_appear_in_logs_or_errors(sim, caplog):
    caplog.set_level(logging.DEBUG)
    sim.set_faults("jasper", error_rate=0.3, rate_limit_per_second=3, retry_after_seconds=0.1)
    sim.set_faults("thingspace", error_rate=0.3)
    patient = replace(FAST, max_attempts=40)
    jasper, ts = jasper_client(sim, patient), thingspace_client(sim, patient)
    messages = []
    for _ in range(5):
        jasper.rate_plans()
    ts.rate_plans()
    sim.expire_sessions()
    ts.rate_plans()
    for call, expected in (
        (lambda: jasper.device("8901260999999999999"), NotFoundError),  # an unknown device
        (lambda: jasper_client(sim, api_key="x").rate_plans(), AuthenticationError),  # a wrong key
    ):
        with pytest.raises(expected) as raised:
            call()
        messages.append(str(raised.value))
    assert all(messages)  # both error paths said something...
    text = caplog.text + "\n".join(messages)
    assert "retrying" in caplog.text  # the retries were logged...
    for secret in (
        CREDS.jasper_api_key,
        CREDS.thingspace_client_secret,
        CREDS.thingspace_password,
        ts._access_token,
        ts._session,
    ):
        assert secret and secret not in text  # ...but no secret, in the logs or in the errors


def test_rate_plans_arrive_by_code_with_their_allowance_and_no_price(sim):
    """Neither carrier publishes prices: a plan is its code, a name and (ThingSpace) an allowance."""
    from decimal import Decimal

    jasper = {p.code: p for p in jasper_client(sim).rate_plans()}
    ts = {p.code: p for p in thingspace_client(sim).rate_plans()}
    assert "J-POOL-1MB" in jasper and "J-IND-10MB" in jasper
    assert ts["T-MOB-PH-2GB"].allowance_mb == Decimal("2048")  # sizeKb / 1024
    assert ts["T-MOB-PH-2GB"].name != "T-MOB-PH-2GB"  # devices and changes name the code, not the name
    assert not any(hasattr(p, "monthly_charge") for p in [*jasper.values(), *ts.values()])


def test_no_connection_names_the_carrier_url_and_what_to_check():
    from amop_pipelines.carriers.jasper import JasperClient
    from amop_pipelines.simulator.server import free_port

    url = f"http://127.0.0.1:{free_port()}/rws/api/v1"
    client = JasperClient(url, CREDS.jasper_username, CREDS.jasper_api_key, replace(FAST, max_attempts=1))
    with pytest.raises(TransientCarrierError) as refused:
        client.rate_plans()
    message = str(refused.value)
    assert "ConnectError" in message and f"no connection to {url}" in message
    assert "AMOP_CARRIER_BASE_URL" in message and "amop simulator serve" in message
