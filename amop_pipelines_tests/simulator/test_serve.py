"""`amop simulator serve` as an operator starts it: a real process on a real port."""

import subprocess

import httpx

from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import start_simulator_process


def test_serve_prints_its_urls_and_credentials_and_answers():
    process, base, health = start_simulator_process(
        300, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert health["devices"] == 300
        answer = httpx.get(
            f"{base}/rws/api/v1/devices",
            params={"modifiedSince": "2000-01-01T00:00:00Z"},
            auth=("amop-demo", "demo-jasper-api-key"),
        )
        assert answer.status_code == 200 and answer.json()["devices"]
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"{base}/rws/api/v1" in output
    assert "demo-jasper-api-key" in output and f"{base}/api/m2m/v1" in output


def test_a_sim_swap_keeps_the_device_in_its_place_in_thingspaces_list_order():
    """ThingSpace lists devices by its numeric device id, which a new SIM does not change."""

    state = new_state(devices=300)
    ordered = state.by_id("thingspace")
    device = ordered[5]
    state.rekey(device, "8914800000000000000")
    state.touch(device)  # a status or plan change leaves the order alone
    after = state.by_id("thingspace")
    assert after is ordered  # no new sort
    assert after[5] is device and state.devices["8914800000000000000"] is device
    ids = [d.device_id for d in after]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
