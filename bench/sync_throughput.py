"""Sync throughput: the device list and the period's usage of a demo fleet, from the simulator,
at a given rate limit, next to the most that limit allows.

The most a limit allows is the fewest requests the carrier's API needs (Jasper: 50 devices a
search page, 50 a usage page per rate plan; ThingSpace: 2,000 a list page, one read of the
account's callbacks, 10,000 devices an aggregate usage request) spread at exactly the limit.
ThingSpace answers usage by `DeviceUsage` callbacks: the simulator posts them to AMOP's own
receiver, which stores them in a SQLite AMOP database the client reads them from, as in
production; "usage s" is that part, which no rate limit governs.
Run: python bench/sync_throughput.py [--devices 100000] [--rates 5,50]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections import Counter
from pathlib import Path

from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.policy import Policy
from amop_pipelines.carriers.thingspace import ThingSpaceClient, ThingSpaceSettings
from amop_pipelines.changes.callbacks import running_receiver
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.simulator.state import Credentials
from amop_pipelines.sync.callback_inbox import StoredCallbacks

SECRET = "bench-callback-secret"


def _fewest_requests(carrier: str, devices: list) -> int:
    if carrier == "jasper":
        per_plan = Counter(d.rate_plan for d in devices)
        return math.ceil(len(devices) / 50) + sum(math.ceil(n / 50) for n in per_plan.values())
    return math.ceil(len(devices) / 2000) + 1 + math.ceil(len(devices) / 10_000)


def direct_sync(sim, engine, receiver_url: str, carrier: str, rate: float) -> tuple[int, int, float, float]:
    """(devices, requests, seconds, usage seconds) of one sync of a carrier's devices and usage."""
    creds = Credentials()
    sim.reset_faults()
    sim.set_faults(carrier, rate_limit_per_second=rate, max_in_flight=1)
    policy = Policy(requests_per_second=rate, max_in_flight=1, timeout_seconds=30)
    if carrier == "jasper":
        client = JasperClient(sim.jasper_url, creds.jasper_username, creds.jasper_api_key, policy)
    else:
        client = ThingSpaceClient(
            sim.thingspace_url,
            sim.state.accounts["thingspace"],
            creds.thingspace_client_id,
            creds.thingspace_client_secret,
            creds.thingspace_username,
            creds.thingspace_password,
            policy,
            ThingSpaceSettings(usage_wait_seconds=1800),
            StoredCallbacks(engine),
        )
        client.register_callbacks(receiver_url, "amop", SECRET)  # account setup, outside the timing
    calls_before = client.http.calls
    started = time.perf_counter()
    devices = list(client.iter_devices())
    listed = time.perf_counter()
    usage = list(client.iter_usage(devices))
    seconds = time.perf_counter() - started
    assert len({u.iccid for u in usage}) == len(devices)
    client.close()
    return len(devices), client.http.calls - calls_before, seconds, seconds - (listed - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rates", default="5,50")
    args = parser.parse_args()
    print(f"fleet: {args.devices:,} demo devices")
    columns = (
        "carrier",
        "limit/s",
        "devices",
        "requests",
        "seconds",
        "usage s",
        "req/s",
        "dev/s",
        "max dev/s",
        "of max",
    )
    widths = (10, 7, 8, 8, 8, 8, 7, 8, 9, 7)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    folder = Path(tempfile.mkdtemp(prefix="amop-sync-bench-"))
    url = f"sqlite:///{folder / 'amop.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with (
        running_simulator(new_state(devices=args.devices)) as sim,
        running_receiver(engine, SECRET, "amop") as receiver,
    ):
        for rate in (float(r) for r in args.rates.split(",")):
            for carrier in ("jasper", "thingspace"):
                count, requests, seconds, usage_seconds = direct_sync(sim, engine, receiver, carrier, rate)
                carrier_devices = [d for d in sim.state.devices.values() if d.carrier == carrier]
                best_seconds = _fewest_requests(carrier, carrier_devices) / rate
                rates = f"{requests / seconds:>7.2f} {count / seconds:>8.1f} {count / best_seconds:>9.1f}"
                timing = f"{seconds:>8.1f} {usage_seconds:>8.1f}"
                print(
                    f"{carrier:>10} {rate:>7g} {count:>8,} {requests:>8,} {timing} {rates} "
                    f"{best_seconds / seconds:>7.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
