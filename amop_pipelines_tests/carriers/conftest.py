"""A real simulator on a loopback port, shared by the carrier tests, and a callback receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.policy import Policy
from amop_pipelines.carriers.thingspace import ThingSpaceClient, ThingSpaceSettings
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import SimulatorHandle, running_simulator
from amop_pipelines.simulator.state import Credentials

CREDS = Credentials()
FAST = Policy(
    requests_per_second=0,
    max_in_flight=0,
    timeout_seconds=5,
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.2,
)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorHandle]:
    """25,000 demo devices: 15,000 on the Jasper account, 10,000 on ThingSpace."""
    with running_simulator(new_state(devices=25_000, seed=7)) as sim:
        yield sim


@pytest.fixture
def sim(simulator: SimulatorHandle) -> Iterator[SimulatorHandle]:
    """The shared simulator with generous limits; faults reset after each test."""
    simulator.reset_faults()
    for carrier in ("jasper", "thingspace"):
        simulator.set_faults(carrier, rate_limit_per_second=0, max_in_flight=0)
    yield simulator
    simulator.reset_faults()


def jasper_client(
    sim: SimulatorHandle, policy: Policy = FAST, api_key: str = CREDS.jasper_api_key
) -> JasperClient:
    return JasperClient(sim.jasper_url, CREDS.jasper_username, api_key, policy)


TS_SETTINGS = ThingSpaceSettings(mdn_zip_code="60601", service_type="M2M", usage_wait_seconds=20)


def thingspace_client(
    sim: SimulatorHandle,
    policy: Policy = FAST,
    password: str = CREDS.thingspace_password,
    settings: ThingSpaceSettings = TS_SETTINGS,
    inbox=None,
) -> ThingSpaceClient:
    return ThingSpaceClient(
        sim.thingspace_url,
        sim.state.accounts["thingspace"],
        CREDS.thingspace_client_id,
        CREDS.thingspace_client_secret,
        CREDS.thingspace_username,
        password,
        policy,
        settings,
        inbox,
    )


class Receiver:
    """An HTTP endpoint that records every callback; `fail_first` answers 500 that many times."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.received.append(body)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the carrier posts several callbacks at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class ReceiverInbox:
    """Callbacks as the test receiver got them (AMOP's own inbox reads them from its database)."""

    def __init__(self, receiver: Receiver):
        self.receiver = receiver

    def collect(self, request_ids, deadline: float, expected: int) -> Iterator[dict]:
        seen = matched = 0
        while time.monotonic() < deadline and matched < expected:
            fresh = self.receiver.received[seen:]
            seen += len(fresh)
            for callback in fresh:
                if callback.get("requestId") in request_ids:
                    matched += 1
                    yield callback
            time.sleep(0.05)
