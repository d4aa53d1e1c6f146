"""The carriers' rules, as the simulator enforces them and the clients see them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from amop_pipelines.carriers.errors import PermanentCarrierError, UncertainOutcomeError
from amop_pipelines.carriers.models import UsagePeriod
from amop_pipelines.carriers.registry import carrier_kind
from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.sync.usage_periods import usage_period

from .conftest import FAST, jasper_client, thingspace_client


def _pick(sim, carrier: str, status: str, skip: int = 0) -> str:
    found = [d.iccid for d in sim.state.devices.values() if d.carrier == carrier and d.status == status]
    return found[skip]


def _wait_for(receiver, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_jasper_rate_plan_changes_are_not_limited_to_four_a_month(sim):
    """The four-a-month rule is ThingSpace's; Control Center has none."""
    client = jasper_client(sim)
    iccid = _pick(sim, "jasper", "ACTIVATED", skip=11)
    current = sim.device(iccid)["ratePlan"]
    plans = [
        p
        for p in ("J-PAYG", "J-POOL-20MB", "J-POOL-100MB", "J-POOL-1MB", "J-POOL-5MB", "J-PAYG")
        if p != current
    ]
    for n, plan in enumerate(plans):
        client.change_rate_plan(iccid, plan, idempotency_key=f"k-{n}")
    assert sim.device(iccid)["ratePlan"] == plans[-1]
    applied = [op for op in sim.operations() if op["iccid"] == iccid]
    assert [op["request_id"] for op in applied] == [f"k-{n}" for n in range(len(plans))]


def test_a_jasper_edit_counts_only_once_the_device_shows_it(sim):
    """On some tenants a 200 did not mean applied: the client reads the device back."""
    client = jasper_client(sim)
    iccid = _pick(sim, "jasper", "ACTIVATED", skip=12)
    target = next(p for p in ("J-POOL-20MB", "J-POOL-5MB") if p != sim.device(iccid)["ratePlan"])
    sim.set_faults("jasper", route=f"/rws/api/v1/devices/{iccid}", edit_ignored_rate=1.0)
    with pytest.raises(UncertainOutcomeError, match="does not show ratePlan"):
        client.change_rate_plan(iccid, target)
    sim.set_faults("jasper", route=f"/rws/api/v1/devices/{iccid}", edit_ignored_rate=0.0)
    assert client.change_rate_plan(iccid, target).asynchronous is False
    assert sim.device(iccid)["ratePlan"] == target


def _jasper_reads(sim, suffix: str) -> list[str]:
    return [c["path"] for c in sim.state.captured if c["carrier"] == "jasper" and c["path"].endswith(suffix)]


def test_jasper_usage_by_rate_plan_sums_each_device_over_its_zones(sim):
    client = jasper_client(sim)
    sim.freeze_clock(True)  # one instant for the bulk read and the device reads
    try:
        devices = [d for d in client.iter_devices() if d.rate_plan == "J-POOL-20MB"][:120]
        roaming = [d for d in devices if sim.state.devices[d.iccid].device_id % 5 == 0]
        bulk = {u.iccid: u for u in client.iter_usage(devices)}
        assert roaming and set(bulk) == {d.iccid for d in devices}
        for device in devices:  # equal to the device's own cycle-to-date figures
            assert bulk[device.iccid] == client.device_usage(device.iccid)
    finally:
        sim.freeze_clock(False)


def test_a_4xx_on_one_plans_usage_reads_that_plan_alone_and_the_rest_in_bulk(sim):
    client = jasper_client(sim)
    devices = [d for d in client.iter_devices() if d.rate_plan in ("J-POOL-500MB", "J-IND-50MB")][:300]
    refused = {d.iccid for d in devices if d.rate_plan == "J-POOL-500MB"}
    sim.set_faults("jasper", usage_refused_plans=["J-POOL-500MB"])
    sim.state.captured.clear()
    usage = {u.iccid: u for u in client.iter_usage(devices)}
    assert set(usage) == {d.iccid for d in devices} and refused
    read_alone = {path.split("/")[-2] for path in _jasper_reads(sim, "/ctdUsages")}
    assert read_alone == refused  # J-IND-50MB stayed in bulk
    assert _jasper_reads(sim, "/usages")  # the bulk pages were asked


def _closed_cycle(sim, back: int) -> UsagePeriod:
    """The closed cycle `back` cycles before the simulator's current one."""
    start = sim.state.cycle_start()
    for _ in range(back):
        end, start = start, sim.state.cycle_start(start - timedelta(days=1))
    return UsagePeriod(start, end, start.date(), closed=True)


def test_jasper_closed_cycle_usage_is_that_cycles_in_bulk_and_device_by_device(sim):
    """A closed cycle is read by its first day, through usage by rate plan and, for a plan that
    refuses it, Get Device Usage by Zone: that cycle's figures, never the current cycle's."""
    client = jasper_client(sim)
    sim.freeze_clock(True)
    try:
        period = _closed_cycle(sim, back=2)
        devices = [d for d in client.iter_devices() if d.rate_plan in ("J-POOL-20MB", "J-POOL-500MB")][:200]
        refused = {d.iccid for d in devices if d.rate_plan == "J-POOL-500MB"}
        sim.set_faults("jasper", usage_refused_plans=["J-POOL-500MB"])
        sim.state.captured.clear()
        usage = {u.iccid: u for u in client.iter_usage(devices, period)}
        expected = {
            d.iccid: sim.state.usage_between(sim.state.devices[d.iccid], period.start, period.end)
            for d in devices
        }
        assert {i: (u.data_bytes, u.sms_count) for i, u in usage.items()} == expected
        asked = {
            c["query"].get("cycleStartDate") for c in sim.state.captured if c["path"].endswith("/usages")
        }
        assert asked == {f"{period.cycle_start:%Y-%m-%d}"}
        alone = {p.split("/")[-2] for p in _jasper_reads(sim, "/usageInZone")}
        assert alone == refused and refused and not _jasper_reads(sim, "/ctdUsages")
        current = {d.iccid: client.device_usage(d.iccid).data_bytes for d in devices}
        assert sum(current.values()) != sum(u.data_bytes for u in usage.values())
    finally:
        sim.freeze_clock(False)


def test_jasper_refuses_a_cycle_older_than_the_two_before_the_current_one(sim):
    client = jasper_client(sim)
    device = next(client.iter_devices())
    with pytest.raises(PermanentCarrierError, match="current and the two previous cycles"):
        client.device_usage(device.iccid, _closed_cycle(sim, back=3).cycle_start)
    with pytest.raises(PermanentCarrierError, match="not the first day of a billing cycle"):
        client.device_usage(device.iccid, _closed_cycle(sim, back=1).cycle_start + timedelta(days=1))


def test_120_rate_plans_arrive_over_three_pages(sim):
    from amop_pipelines.simulator.state import SimRatePlan

    extra = [
        f"J-EXTRA-{n:03d}" for n in range(120 - sum(1 for c, _ in sim.state.rate_plans if c == "jasper"))
    ]
    for code in extra:
        sim.state.rate_plans["jasper", code] = SimRatePlan("jasper", code, code, 10.0)
    try:
        client = jasper_client(sim)
        plans = client.rate_plans()
        assert len(plans) == len({p.code for p in plans}) == 120
        assert client.pages_read == 3  # 50 a page
    finally:
        for code in extra:
            del sim.state.rate_plans["jasper", code]


def test_jasper_status_follows_its_state_machine(sim):
    client = jasper_client(sim)
    iccid = _pick(sim, "jasper", "DEACTIVATED")
    client.change_status(iccid, "ACTIVATED")
    assert sim.device(iccid)["status"] == "ACTIVATED"
    with pytest.raises(PermanentCarrierError, match="cannot change from ACTIVATED to INVENTORY"):
        client.change_status(iccid, "INVENTORY")
    with pytest.raises(PermanentCarrierError, match="Invalid status"):
        client.change_status(iccid, "SLEEPING")


def test_jasper_cycle_to_date_usage_grows_and_resets_at_the_cycle_day(sim):
    client = jasper_client(sim)
    iccid = max(
        (d for d in sim.state.devices.values() if d.carrier == "jasper" and d.status == "ACTIVATED"),
        key=lambda d: d.bytes_per_day,
    ).iccid
    first = client.device_usage(iccid).data_bytes
    sim.advance_clock(86400)
    grown = client.device_usage(iccid).data_bytes
    next_cycle = sim.state.cycle_start(sim.state.cycle_start() + timedelta(days=35))
    sim.advance_clock((next_cycle - sim.state.now()).total_seconds() + 3600)  # an hour into the next cycle
    after_reset = client.device_usage(iccid).data_bytes
    assert grown > first
    assert 0 < after_reset < grown


def test_thingspace_actions_follow_the_state_machine_and_answer_by_callback(sim, receiver):
    client = thingspace_client(sim)
    client.register_callback(receiver.url)
    active = _pick(sim, "thingspace", "active", skip=3)
    accepted = client.change_status(active, "activate")  # already active
    suspended = client.change_status(active, "suspend")
    sim.flush_callbacks()
    deadline = time.monotonic() + 30  # both answers, however the deliveries interleave under load
    while {accepted.request_id, suspended.request_id} - {c["requestId"] for c in receiver.received}:
        assert time.monotonic() < deadline, receiver.received
        sim.flush_callbacks()
        time.sleep(0.1)
    by_request = {c["requestId"]: c for c in receiver.received}
    assert by_request[accepted.request_id]["status"] == "Failed"
    assert by_request[accepted.request_id]["faultResponse"]["faultcode"].endswith("DeviceAlreadyActive")
    assert by_request[suspended.request_id]["status"] == "Success"
    assert sim.device(active)["status"] == "suspend"


def test_thingspace_refuses_plan_changes_while_suspended_and_past_four_a_month(sim, receiver):
    client = thingspace_client(sim)
    client.register_callback(receiver.url)
    suspended = _pick(sim, "thingspace", "suspend")
    refused = client.change_rate_plan(suspended, "T-M2M-25MB")
    active = _pick(sim, "thingspace", "active", skip=7)
    results = [
        client.change_rate_plan(active, plan)
        for plan in ("T-M2M-2MB", "T-M2M-25MB", "T-M2M-250MB", "T-M2M-2MB", "T-M2M-25MB")
    ]
    sim.flush_callbacks()
    _wait_for(receiver, 6)
    status = {c["requestId"]: c for c in receiver.received}
    assert status[refused.request_id]["faultResponse"]["faultcode"] == "REQUEST_FAILED.DeviceSuspended"
    assert [status[r.request_id]["status"] for r in results] == ["Success"] * 4 + ["Failed"]
    assert status[results[-1].request_id]["faultResponse"]["faultcode"] == "REQUEST_FAILED.PlanChangeLimit"


def test_thingspace_changes_identifiers_of_active_devices_to_sims_it_does_not_know(sim, receiver):
    client = thingspace_client(sim)
    client.register_callback(receiver.url)
    device = _pick(sim, "thingspace", "active", skip=20)
    in_use = _pick(sim, "thingspace", "active", skip=21)
    spare = _pick(sim, "thingspace", "deactive", skip=2)
    suspended = _pick(sim, "thingspace", "suspend", skip=1)
    refused_in_use = client.change_identifiers(device, new_iccid=in_use)
    refused_spare = client.change_identifiers(device, new_iccid=spare)  # known: delete it first
    refused_suspended = client.change_identifiers(suspended, new_iccid="8914800000000000025")
    with pytest.raises(PermanentCarrierError, match="not in deactivate state"):
        client.delete_device(in_use)
    client.delete_device(spare)
    done = client.change_identifiers(device, new_iccid=spare, service_plan="T-M2M-25MB")
    sim.flush_callbacks()
    _wait_for(receiver, 4)
    status = {c["requestId"]: c for c in receiver.received}

    def fault(accepted) -> str | None:
        return status[accepted.request_id].get("faultResponse", {}).get("faultcode")

    assert fault(refused_in_use) == fault(refused_spare) == "REQUEST_FAILED.DeviceAlreadyExists"
    assert fault(refused_suspended) == "REQUEST_FAILED.InvalidState"
    assert status[done.request_id]["status"] == "Success"
    assert sim.device(spare)["ratePlan"] == "T-M2M-25MB"  # the device answers to its new SIM
    assert device not in sim.state.devices


def test_thingspace_takes_at_most_10000_devices_a_request(sim):
    client = thingspace_client(sim)
    client.rate_plans()  # logs in
    body = {
        "accountName": client.account,
        "devices": [{"deviceIds": [{"id": f"89148{i:014d}", "kind": "iccid"}]} for i in range(10_001)],
    }
    answer = httpx.post(
        f"{sim.base_url}/api/m2m/v1/devices/actions/suspend", json=body, headers=client._headers()
    )
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "INPUT_INVALID.Devices.TooMany"


def test_duplicated_and_reordered_callbacks_are_delivered_as_the_carrier_would(sim, receiver):
    client = thingspace_client(sim)
    client.register_callback(receiver.url)
    sim.set_faults(
        "thingspace", callback_duplicate_rate=1.0, callback_reorder=True, callback_delay_seconds=30
    )
    devices = [_pick(sim, "thingspace", "active", skip=40 + i) for i in range(8)]
    requests = [client.change_status(iccid, "suspend").request_id for iccid in devices]
    assert receiver.received == []  # delayed: nothing yet
    sim.flush_callbacks()
    _wait_for(receiver, 16)
    received = [c["requestId"] for c in receiver.received]
    assert sorted(received) == sorted(requests * 2)  # every callback, each one twice
    assert received != [r for r in requests for _ in range(2)]  # not in the order of the requests


def test_unanswered_callbacks_are_retried_five_minutes_apart_up_to_four_deliveries(sim, receiver):
    client = thingspace_client(sim)
    client.register_callback(receiver.url)
    receiver.fail_first = 3
    attempts = sim.callback_stats()["attempts"]
    request_id = client.change_status(_pick(sim, "thingspace", "active", skip=60), "suspend").request_id
    _wait_until(lambda: sim.callback_stats()["attempts"] == attempts + 1)  # the first, refused
    for retry in range(3):
        sim.advance_clock(290)
        time.sleep(1.5)  # the sender looks every second: not due yet
        assert sim.callback_stats()["attempts"] == attempts + 1 + retry
        sim.advance_clock(10)  # five minutes after the last delivery
        _wait_until(lambda r=retry: sim.callback_stats()["attempts"] == attempts + 2 + r)
    _wait_for(receiver, 1)
    assert [c["requestId"] for c in receiver.received] == [request_id]
    assert receiver.received[0]["callbackCount"] == 4
    assert receiver.received[0]["maxCallbackThreshold"] == 4


def _wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_five_failed_logins_lock_the_account(sim):
    for _ in range(5):
        with pytest.raises(PermanentCarrierError, match=r"Login\.Invalid"):
            thingspace_client(sim, password="wrong").rate_plans()
    with pytest.raises(PermanentCarrierError, match="AccountLocked"):
        thingspace_client(sim).rate_plans()
    sim.state.locked, sim.state.failed_logins = False, 0  # unlock for the other tests


def _plan_changes(sim, iccid: str) -> list[dict]:
    return [op for op in sim.operations() if op["iccid"] == iccid and op["operation"] == "plan"]


def test_a_thingspace_action_applied_but_unanswered_is_read_back_not_sent_again(sim):
    iccid = _pick(sim, "thingspace", "active", skip=300)
    target = next(p for p in ("T-M2M-250MB", "T-M2M-25MB") if p != sim.device(iccid)["ratePlan"])
    sim.set_faults(
        "thingspace", route="/api/m2m/v1/devices/actions/plan", hang_after_rate=1.0, hang_seconds=1.0
    )
    client = thingspace_client(sim, replace(FAST, timeout_seconds=0.3))
    accepted = client.change_rate_plan(iccid, target)
    assert accepted.asynchronous is False and accepted.request_id is None  # known applied by the read
    assert len(_plan_changes(sim, iccid)) == 1
    assert sim.device(iccid)["ratePlan"] == target


def test_a_thingspace_action_that_failed_with_5xx_is_not_sent_again_blindly(sim):
    iccid = _pick(sim, "thingspace", "active", skip=301)
    target = next(p for p in ("T-M2M-250MB", "T-M2M-25MB") if p != sim.device(iccid)["ratePlan"])
    sim.set_faults("thingspace", route="/api/m2m/v1/devices/actions/plan", error_rate=1.0)
    client = thingspace_client(sim)
    client.rate_plans()  # logged in
    calls = client.http.calls
    with pytest.raises(UncertainOutcomeError, match="may have applied it"):
        client.change_rate_plan(iccid, target)
    assert client.http.calls == calls + 2  # the action once, then a read of the device
    assert _plan_changes(sim, iccid) == []


def test_pending_activation_is_waited_out_never_activated_again(sim):
    from amop_pipelines.carriers.thingspace import normalise_state

    client = thingspace_client(sim)
    iccid = _pick(sim, "thingspace", "deactive", skip=30)
    sim.set_faults("thingspace", activation_pending_seconds=3600)
    client.set_status(iccid, "Active")
    assert client.device(iccid).status == "pending activation"
    with pytest.raises(PermanentCarrierError, match="no ThingSpace action moves"):
        client.set_status(iccid, "Active")  # on its way: a second activation is never sent
    assert [op["operation"] for op in sim.operations() if op["iccid"] == iccid] == ["activate"]
    sim.advance_clock(3601)
    assert client.device(iccid).status == "active"
    assert [normalise_state(s) for s in ("Activate", "Pending  Activation", "PRE-ACTIVE", "Deactive")] == [
        "active",
        "pending activation",
        "pre-active",
        "deactive",
    ]


def test_the_access_token_is_renewed_before_it_runs_out(sim):
    client = thingspace_client(sim)
    client.rate_plans()
    tokens = len(sim.state.access_tokens)
    client._token_until = time.monotonic() + 30  # under a minute left
    client.rate_plans()
    assert len(sim.state.access_tokens) == tokens + 1  # a new token, taken before the call
    assert client.logins == 1  # the session goes on
    client.rate_plans()
    assert len(sim.state.access_tokens) == tokens + 1


def test_a_month_end_jasper_account_reads_february_from_the_first_to_the_28th_inclusive():
    """Cycle end day 31 bills each calendar month whole: February's closed cycle starts on the 1st
    (the day after January's 31st, as AMOP's billing period says) and runs to the end of the 28th."""
    state = new_state(devices=300, seed=3)
    state.cycle_end_day = 31
    state.frozen_at = datetime(2027, 3, 10, 12, tzinfo=UTC)
    provider = ServiceProvider(
        name="Month End",
        integration="jasper",
        billing_cycle_end_day=31,
        billing_cycle_end_hour=0,
        time_zone="UTC",
    )
    period = usage_period(provider, "2027-02", carrier_kind("jasper"), state.now())
    assert period.closed and period.cycle_start == date(2027, 2, 1)
    assert (period.start, period.end) == (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))
    with running_simulator(state) as sim:
        client = jasper_client(sim)
        devices = [d for d in client.iter_devices() if d.status == "ACTIVATED"][:100]
        usage = {u.iccid: (u.data_bytes, u.sms_count) for u in client.iter_usage(devices, period)}
        asked = {c["query"].get("cycleStartDate") for c in state.captured if c["path"].endswith("/usages")}
        with pytest.raises(PermanentCarrierError, match="not the first day of a billing cycle"):
            client.device_usage(devices[0].iccid, date(2027, 1, 31))
    assert asked == {"2027-02-01"}
    assert usage == {
        d.iccid: state.usage_between(state.devices[d.iccid], period.start, period.end) for d in devices
    }
    assert all(data > 0 for data, _ in usage.values())
