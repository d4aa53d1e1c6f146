"""A ThingSpace account of 10,000 devices, as CARRIERS.md has it: listed in 5 pages by Verizon's
numeric device id, a device without an ICCID reported and skipped, usage by DeviceUsage callback."""

from dataclasses import replace

import pytest

from .conftest import TS_SETTINGS, ReceiverInbox, thingspace_client


@pytest.fixture(scope="module")
def account_of_10000():
    """A ThingSpace account of exactly 10,000 devices, one of them without an ICCID (MDN only)."""
    from amop_pipelines.demo.simulated_fleet import new_state
    from amop_pipelines.simulator.server import running_simulator

    state = new_state(devices=25_000, seed=11)
    ordered = state.by_id("thingspace")
    assert len(ordered) == 10_000
    mdn_only = ordered[4321]
    state.remove(mdn_only)
    mdn_only.iccid = ""
    state.add(mdn_only)  # keeps its numeric id and its place in the list
    with running_simulator(state) as sim:
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
        yield sim, mdn_only


def test_a_10000_device_account_syncs_in_5_pages_and_its_usage_by_device_usage_callbacks(
    account_of_10000, receiver
):
    sim, mdn_only = account_of_10000
    settings = replace(TS_SETTINGS, usage_wait_seconds=300)  # ample: every callback comes
    client = thingspace_client(sim, settings=settings, inbox=ReceiverInbox(receiver))
    devices = list(client.iter_devices())
    assert client.pages_read == 5
    assert len(devices) == len({d.iccid for d in devices}) == 9_999
    assert client.skipped == [
        f"DeviceId {mdn_only.device_id} (imei {mdn_only.imei}, mdn {mdn_only.msisdn}, "
        f"msisdn {mdn_only.msisdn}): no ICCID"
    ]
    client.register_callbacks(receiver.url)
    sim.state.captured.clear()
    usage = {u.iccid: u for u in client.iter_usage(devices)}
    assert set(usage) == {d.iccid for d in devices}
    paths = [c["path"] for c in sim.state.captured]
    assert sum(p.endswith("/list/aggregate") for p in paths) == 1  # one request of 9,999 devices
    assert not any(p.endswith("/devices/usage/actions/list") for p in paths)  # none read alone
    by_callback = [c for c in receiver.received if "usageResponse" in c.get("deviceResponse", {})]
    assert len(by_callback) == 9_999
