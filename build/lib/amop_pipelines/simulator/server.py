"""Running the simulator: in a background thread for tests (`running_simulator`), or in the
foreground for `amop simulator serve`."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from amop_pipelines.simulator.app import create_app
from amop_pipelines.simulator.state import SimState


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class SimulatorHandle:
    """A running simulator, driven through its control API over real HTTP."""

    base_url: str
    state: SimState  # the same process's state, for assertions only

    @property
    def jasper_url(self) -> str:
        return f"{self.base_url}/rws/api/v1"

    @property
    def thingspace_url(self) -> str:
        return self.base_url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base_url}/_sim{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_faults(self, carrier: str, route: str | None = None, **faults: Any) -> dict:
        return self._call("PUT", "/faults", json={"carrier": carrier, "route": route, **faults})

    def reset_faults(self) -> None:
        self._call("DELETE", "/faults")

    def advance_clock(self, seconds: float) -> str:
        return self._call("POST", "/clock", json={"advance_seconds": seconds})["now"]

    def freeze_clock(self, frozen: bool = True) -> str:
        return self._call("POST", "/clock", json={"freeze": frozen})["now"]

    def flush_callbacks(self) -> int:
        return self._call("POST", "/callbacks/flush")["attempted"]

    def callback_stats(self) -> dict:
        return self._call("GET", "/callbacks")

    def operations(self, since: int = 0) -> list[dict]:
        return self._call("GET", "/operations", params={"since": since})

    def expire_sessions(self) -> int:
        return self._call("POST", "/sessions/expire")["expired"]

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def change_device(self, iccid: str, **changes: Any) -> dict:
        return self._call("PATCH", f"/devices/{iccid}", json=changes)

    def device(self, iccid: str) -> dict:
        return self._call("GET", f"/devices/{iccid}")


@contextlib.contextmanager
def running_simulator(
    state: SimState, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[SimulatorHandle]:
    """Serve `state` on a free loopback port in a background thread until the block ends."""
    port = port or free_port(host)
    config = uvicorn.Config(create_app(state), host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="carrier-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the carrier simulator did not start")
        time.sleep(0.02)
    try:
        yield SimulatorHandle(f"http://{host}:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def start_simulator_process(
    devices: int, startup_seconds: float = 120, **popen: Any
) -> tuple[subprocess.Popen, str, dict]:
    """`amop simulator serve` as its own process on a free port, so that it outlives whatever it
    serves (a killed run, a crashed benchmark): (process, base URL, health)."""
    port = free_port()
    command = [sys.executable, "-m", "amop_pipelines.cli", "simulator", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--devices", str(devices)], **popen)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_seconds
    while True:
        try:
            return process, base, httpx.get(f"{base}/_sim/health", timeout=1).json()
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the simulator process did not start") from None
            time.sleep(0.2)
