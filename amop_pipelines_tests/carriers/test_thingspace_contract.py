"""ThingSpace's shapes proven against Verizon's own generated SDK (`apimatic-verizon-sdk`), which
neither AMOP's client nor the simulator wrote: for every call AMOP makes, the request AMOP sends
and the one the SDK sends are captured at the simulator and must agree (method, path, body keys
and value types), and the simulator's answers must read into the SDK's models. Then the
simulator must refuse the shapes the real API refuses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from verizon.configuration import Configuration, Environment, Server
from verizon.http.auth.thingspace_oauth import ThingspaceOauthCredentials
from verizon.http.auth.vz_m2m_token import VzM2MTokenCredentials
from verizon.models.account_device_list import AccountDeviceList
from verizon.models.account_device_list_request import AccountDeviceListRequest
from verizon.models.carrier_actions_request import CarrierActionsRequest
from verizon.models.carrier_activate_request import CarrierActivateRequest
from verizon.models.carrier_deactivate_request import CarrierDeactivateRequest
from verizon.models.change_device_id_request import ChangeDeviceIdRequest
from verizon.models.delete_devices_request import DeleteDevicesRequest
from verizon.models.device_aggregate_usage_list_request import DeviceAggregateUsageListRequest
from verizon.models.device_id import DeviceId
from verizon.models.device_usage_list_request import DeviceUsageListRequest
from verizon.models.log_in_request import LogInRequest
from verizon.models.register_callback_request import RegisterCallbackRequest
from verizon.models.service_plan_update_request import ServicePlanUpdateRequest
from verizon.verizon_client import VerizonClient

from amop_pipelines.carriers.models import UsagePeriod

from .conftest import CREDS, TS_SETTINGS, ReceiverInbox, thingspace_client

ZIP, SERVICE_TYPE = TS_SETTINGS.mdn_zip_code, TS_SETTINGS.service_type
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shape(value: Any) -> Any:
    """A JSON value's structure: keys kept, leaves replaced by their JSON type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return {bool: "boolean", int: "number", float: "number", str: "string", type(None): "null"}[type(value)]


def exchange(sim, action: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """The last ThingSpace request `action` made, as (method, path, body shape), and what it returned."""
    sim.state.captured.clear()
    answer = action()
    last = list(sim.state.captured)[-1]
    return {
        "method": last["method"],
        "path": UUID.sub("{id}", last["path"]),
        "body": shape(last["body"]),
    }, answer


def sent(sim, action: Callable[[], Any]) -> dict[str, Any]:
    return exchange(sim, action)[0]


@pytest.fixture
def sdk_oauth(sim, monkeypatch) -> VerizonClient:
    """Verizon's SDK aimed at the simulator (its environment's URLs replaced), with the OAuth
    application's key and secret: enough to take a token and open a session."""
    urls = Configuration.environments[Environment.PRODUCTION]
    base = sim.base_url
    for server, path in (
        (Server.THINGSPACE, "/api"),
        (Server.OAUTH_SERVER, "/api/ts/v1"),
        (Server.M2M, "/api/m2m"),
    ):
        monkeypatch.setitem(urls, server, base + path)
    oauth = ThingspaceOauthCredentials(
        oauth_client_id=CREDS.thingspace_client_id, oauth_client_secret=CREDS.thingspace_client_secret
    )
    return VerizonClient(thingspace_oauth_credentials=oauth, environment=Environment.PRODUCTION)


def _login(client: VerizonClient) -> str:
    return client.session_management.start_connectivity_management_session(
        LogInRequest(username=CREDS.thingspace_username, password=CREDS.thingspace_password)
    ).body.session_token


@pytest.fixture
def sdk(sdk_oauth) -> VerizonClient:
    """The SDK logged in as AMOP is: OAuth token and session token."""
    token = _login(sdk_oauth)
    assert token
    return VerizonClient(
        config=sdk_oauth.config.clone_with(vz_m2m_token_credentials=VzM2MTokenCredentials(vz_m2m_token=token))
    )


def _pick(sim, status: str, skip: int) -> str:
    return [d.iccid for d in sim.state.by_id("thingspace") if d.status == status][skip]


def _devices(iccid: str) -> list[AccountDeviceList]:
    return [AccountDeviceList(device_ids=[DeviceId(id=iccid, kind="iccid")])]


def _device_id(device) -> int:
    return int(next(attr.value for attr in device.extended_attributes if attr.key == "DeviceId"))


def test_session_login_is_the_sdks(sim, sdk_oauth):
    ours = sent(sim, lambda: thingspace_client(sim)._authenticate())
    assert ours == sent(sim, lambda: _login(sdk_oauth))
    assert ours["body"] == {"password": "string", "username": "string"}


def test_device_pages_by_numeric_device_id_as_the_sdk_sends_them(sim, sdk):
    account = sim.state.accounts["thingspace"]
    ts = thingspace_client(sim)
    devices = ts.iter_devices()
    ours = sent(sim, lambda: [next(devices) for _ in range(2001)])  # the second page's request
    page = sdk.device_management.list_devices_information(
        AccountDeviceListRequest(account_name=account, largest_device_id_seen=0)
    ).body
    assert page.has_more_data and len(page.devices) == 2000
    cursor = _device_id(page.devices[-1])  # the SDK's model reads the cursor
    theirs = sent(
        sim,
        lambda: sdk.device_management.list_devices_information(
            AccountDeviceListRequest(account_name=account, largest_device_id_seen=cursor)
        ),
    )
    assert (
        ours
        == theirs
        == {
            "method": "POST",
            "path": "/api/m2m/v1/devices/actions/list",
            "body": {"accountName": "string", "largestDeviceIdSeen": "number"},
        }
    )
    first = page.devices[0]
    assert {i.kind for i in first.device_ids} >= {"iccid", "imei"}
    assert first.carrier_informations[0].service_plan and first.carrier_informations[0].state


def test_one_device_by_its_device_id_as_the_sdk_asks(sim, sdk):
    account, iccid = sim.state.accounts["thingspace"], _pick(sim, "active", 200)
    ours = sent(sim, lambda: thingspace_client(sim).device(iccid))
    theirs, answer = exchange(
        sim,
        lambda: (
            sdk.device_management.list_devices_information(
                AccountDeviceListRequest(account_name=account, device_id=DeviceId(id=iccid, kind="iccid"))
            ).body
        ),
    )
    assert ours == theirs
    assert ours["body"] == {"accountName": "string", "deviceId": {"id": "string", "kind": "string"}}
    assert [i.id for i in answer.devices[0].device_ids if i.kind == "iccid"] == [iccid]


def test_service_plans_by_code_as_the_sdk_reads_them(sim, sdk):
    account = sim.state.accounts["thingspace"]
    ours = sent(sim, lambda: thingspace_client(sim).rate_plans())
    theirs, plans = exchange(sim, lambda: sdk.service_plans.list_account_service_plans(account).body)
    assert ours == theirs
    codes = {p.code: p for p in plans}
    assert codes["T-MOB-PH-2GB"].size_kb == 2048 * 1024
    assert {p.code for p in thingspace_client(sim).rate_plans()} == set(codes)


def test_usage_of_one_device_as_the_sdk_asks_and_reads_it(sim, sdk):
    iccid = _pick(sim, "active", 201)
    end = sim.state.now()
    start = end - timedelta(days=5)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    ours = sent(sim, lambda: thingspace_client(sim).device_usage(iccid, start, end))
    theirs, history = exchange(
        sim,
        lambda: (
            sdk.device_management.list_devices_usage_history(
                DeviceUsageListRequest(
                    earliest=start.strftime(stamp),
                    latest=end.strftime(stamp),
                    device_id=DeviceId(id=iccid, kind="iccid"),
                )
            ).body
        ),
    )
    assert ours == theirs
    assert history.usage_history and all(isinstance(row.bytes_used, int) for row in history.usage_history)
    assert (
        sum(r.bytes_used for r in history.usage_history)
        == thingspace_client(sim).device_usage(iccid, start, end).data_bytes
    )


def _request_to(sim, suffix: str) -> dict[str, Any]:
    """The first captured request to a path ending so, as (method, path, body shape)."""
    request = next(c for c in sim.state.captured if c["path"].endswith(suffix))
    return {
        "method": request["method"],
        "path": UUID.sub("{id}", request["path"]),
        "body": shape(request["body"]),
    }


def test_bulk_usage_is_asked_as_the_sdk_asks_and_arrives_by_device_usage_callback(sim, sdk, receiver):
    account = sim.state.accounts["thingspace"]
    ts = thingspace_client(sim, inbox=ReceiverInbox(receiver))
    assert ts.register_callbacks(receiver.url, "amop", "callback-password") == [
        "CarrierService",
        "DeviceUsage",
    ]
    devices = [ts.device(_pick(sim, "active", 210 + i)) for i in range(5)]
    end = datetime.now(UTC)
    start = end - timedelta(days=10)
    sim.state.captured.clear()
    usage = {u.iccid: u for u in ts.iter_usage(devices, UsagePeriod(start, end, start.date(), closed=False))}
    figures = [c for c in receiver.received if c.get("deviceResponse", {}).get("usageResponse")]
    ours = _request_to(sim, "/devices/usage/actions/list/aggregate")
    assert not [
        c for c in sim.state.captured if c["path"].endswith("/devices/usage/actions/list")
    ]  # no fallback
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    theirs, request_id = exchange(
        sim,
        lambda: (
            sdk.device_management.retrieve_aggregate_device_usage_history(
                DeviceAggregateUsageListRequest(
                    start_time=start.strftime(stamp),
                    end_time=end.strftime(stamp),
                    device_ids=[DeviceId(id=d.iccid, kind="iccid") for d in devices],
                    account_name=account,
                )
            ).body.request_id
        ),
    )
    assert ours == theirs
    assert ours["body"]["startTime"] == ours["body"]["endTime"] == "string"
    # the figures came by DeviceUsage callback, with the registered credentials in the body
    assert len(figures) == 5 and len({c["requestId"] for c in figures}) == 1
    assert set(usage) == {d.iccid for d in devices}
    assert all(c["username"] == "amop" and c["password"] == "callback-password" for c in figures)
    one = devices[0].iccid  # the device's figures in the window, as a read of that device says
    assert usage[one].data_bytes == pytest.approx(ts.device_usage(one, start, end).data_bytes, rel=0.01)
    # the request's status, as the SDK asks it and reads it
    answer = sdk.account_requests.get_current_asynchronous_request_status(account, request_id).body
    assert answer.status in ("Pending", "Success", "Failure") and answer.request_id == request_id
    assert sent(sim, lambda: ts.request_status(request_id)) == sent(
        sim, lambda: sdk.account_requests.get_current_asynchronous_request_status(account, request_id)
    )


def _same_action(sim, ours: Callable[[], object], theirs: Callable[[], Any]) -> Any:
    """Both send the action; they agree on its shape; the SDK reads the simulator's answer."""
    ours_sent = sent(sim, ours)
    theirs_sent, answer = exchange(sim, theirs)
    assert ours_sent == theirs_sent
    return ours_sent, answer.body


def test_plan_change_is_the_sdks(sim, sdk):
    account = sim.state.accounts["thingspace"]
    a, b = _pick(sim, "active", 220), _pick(sim, "active", 221)
    shown, body = _same_action(
        sim,
        lambda: thingspace_client(sim).change_rate_plan(a, "T-M2M-25MB"),
        lambda: sdk.device_management.change_devices_service_plan(
            ServicePlanUpdateRequest(service_plan="T-M2M-25MB", account_name=account, devices=_devices(b))
        ),
    )
    assert shown["method"] == "PUT" and shown["path"] == "/api/m2m/v1/devices/actions/plan"
    assert UUID.fullmatch(body.request_id)


@pytest.mark.parametrize(
    ("action", "state", "skip", "request_model", "method"),
    [
        ("suspend", "active", 230, CarrierActionsRequest, "suspend_service_for_devices"),
        ("restore", "suspend", 10, CarrierActionsRequest, "restore_service_for_suspended_devices"),
        ("deactivate", "active", 232, CarrierDeactivateRequest, "deactivate_service_for_devices"),
        ("activate", "deactive", 10, CarrierActivateRequest, "activate_service_for_devices"),
    ],
)
def test_device_actions_carry_what_the_sdk_requires(sim, sdk, action, state, skip, request_model, method):
    account = sim.state.accounts["thingspace"]
    a, b = _pick(sim, state, skip), _pick(sim, state, skip + 1)
    extra = {
        "deactivate": {"reason_code": "FF"},
        "activate": {"service_plan": "T-M2M-25MB", "mdn_zip_code": ZIP},
    }.get(action, {})
    shown, body = _same_action(
        sim,
        lambda: thingspace_client(sim).act(a, action, "T-M2M-25MB"),
        lambda: getattr(sdk.device_management, method)(
            request_model(account_name=account, devices=_devices(b), **extra)
        ),
    )
    assert shown["path"] == f"/api/m2m/v1/devices/actions/{action}"
    assert set(shown["body"]) >= {"accountName", "devices"} | {
        {"reason_code": "reasonCode", "service_plan": "servicePlan", "mdn_zip_code": "mdnZipCode"}[k]
        for k in extra
    }
    assert UUID.fullmatch(body.request_id)


def test_delete_of_a_deactivated_device_is_the_sdks(sim, sdk):
    account = sim.state.accounts["thingspace"]
    a, b = _pick(sim, "deactive", 20), _pick(sim, "deactive", 21)
    shown, body = _same_action(
        sim,
        lambda: thingspace_client(sim).delete_device(a),
        lambda: sdk.device_management.delete_deactivated_devices(
            DeleteDevicesRequest(devices_to_delete=_devices(b), account_name=account)
        ),
    )
    assert shown["body"] == {
        "accountName": "string",
        "devicesToDelete": [{"deviceIds": [{"id": "string", "kind": "string"}]}],
    }
    assert [r.status for r in body] == ["Success"]
    assert a not in sim.state.devices and b not in sim.state.devices


def test_identifier_change_is_the_sdks_with_its_service_type(sim, sdk):
    a, b = _pick(sim, "active", 240), _pick(sim, "active", 241)

    def to(n: int) -> list[DeviceId]:
        return [
            DeviceId(id=f"89148000000000{n:05d}", kind="iccid"),
            DeviceId(id=f"35000000000{n:04d}", kind="imei"),
        ]

    shown, body = _same_action(
        sim,
        lambda: thingspace_client(sim).change_identifiers(
            a, new_iccid=to(1)[0].id, new_imei=to(1)[1].id, service_plan="T-M2M-25MB"
        ),
        lambda: sdk.device_management.update_device_id(
            SERVICE_TYPE,
            ChangeDeviceIdRequest(
                device_ids=[DeviceId(id=b, kind="iccid")],
                change_4_g_option="ChangeIMEIandICCID",
                device_ids_to=to(2),
                service_plan="T-M2M-25MB",
            ),
        ),
    )
    assert (
        shown["method"] == "PUT" and shown["path"] == f"/api/m2m/v1/devices/{SERVICE_TYPE}/actions/deviceId"
    )
    assert UUID.fullmatch(body.request_id)


def test_callback_registration_is_the_sdks(sim, sdk):
    account = sim.state.accounts["thingspace"]
    url = "http://127.0.0.1:9/callbacks/thingspace"
    _shown, body = _same_action(
        sim,
        lambda: thingspace_client(sim).register_callback(url, "CarrierService", "amop", "pw"),
        lambda: sdk.connectivity_callbacks.register_callback(
            account, RegisterCallbackRequest(name="DeviceUsage", url=url, username="amop", password="pw")
        ),
    )
    assert body.service_name == "DeviceUsage" and body.account_name == account
    listed = {
        c.service_name: c.url for c in sdk.connectivity_callbacks.list_registered_callbacks(account).body
    }
    assert listed["CarrierService"] == listed["DeviceUsage"] == url
    assert thingspace_client(sim).registered_callbacks() == listed
    ours = sent(sim, lambda: thingspace_client(sim).deregister_callback("DeviceUsage"))
    thingspace_client(sim).register_callback(url, "DeviceUsage")
    assert ours == sent(sim, lambda: sdk.connectivity_callbacks.deregister_callback(account, "DeviceUsage"))
    assert thingspace_client(sim).registered_callbacks() == {"CarrierService": url}


@pytest.mark.parametrize(
    ("method", "path", "body", "why"),
    [
        (
            "POST",
            "devices/actions/list",
            {"accountName": "A", "largestDeviceIdSeen": "89148000000000000017"},
            "cursor",
        ),
        ("POST", "devices/actions/deactivate", {"accountName": "A", "devices": "D"}, "reasonCode"),
        ("POST", "devices/actions/activate", {"accountName": "A", "devices": "D"}, "servicePlan"),
        (
            "POST",
            "devices/actions/activate",
            {"accountName": "A", "devices": "D", "servicePlan": "T-M2M-25MB"},
            "zip",
        ),
        (
            "PUT",
            "devices/actions/deviceId",
            {"deviceIds": "I", "change4gOption": "ChangeICCID"},
            "serviceType",
        ),
        ("POST", "devices/usage/actions/list/aggregate", {"accountName": "A", "deviceIds": "I"}, "window"),
        ("POST", "devices/usage/actions/list", {"deviceId": "I1"}, "window"),
    ],
)
def test_the_simulator_refuses_what_thingspace_refuses(sim, method, path, body, why):
    ts = thingspace_client(sim)
    ts.rate_plans()  # logs in
    iccid = _pick(sim, "active", 250)
    fill = {
        "A": sim.state.accounts["thingspace"],
        "D": [{"deviceIds": [{"id": iccid, "kind": "iccid"}]}],
        "I": [{"id": iccid, "kind": "iccid"}],
        "I1": {"id": iccid, "kind": "iccid"},
    }
    body = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    answer = httpx.request(
        method, f"{sim.thingspace_url}/api/m2m/v1/{path}", json=body, headers=ts._headers()
    )
    assert 400 <= answer.status_code < 500, why
    assert sim.device(iccid)["status"] == "active"  # nothing applied
