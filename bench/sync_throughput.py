"""Sync throughput: the device list and cycle-to-date usage of a demo fleet, from the simulator,
at a given rate limit, next to the most that limit allows.

The most a limit allows is the fewest requests the carrier's API needs (Jasper: 50 devices a
search page, 50 a usage page per rate plan; ThingSpace: 2,000 a list page, 10,000 an aggregate
usage request plus its status call) spread at exactly the limit.
Run: python bench/sync_throughput.py [--devices 100000] [--rates 5,50]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

from amop_pipelines.carriers.jasper import JasperClient
from amop_pipelines.carriers.policy import Policy
from amop_pipelines.carriers.thingspace import ThingSpaceClient
from amop_pipelines.simulator.server import new_state, running_simulator
from amop_pipelines.simulator.state import Credentials


def _fewest_requests(carrier: str, devices: list) -> int:
    if carrier == "jasper":
        per_plan = Counter(d.rate_plan for d in devices)
        return math.ceil(len(devices) / 50) + sum(math.ceil(n / 50) for n in per_plan.values())
    return math.ceil(len(devices) / 2000) + 2 * math.ceil(len(devices) / 10_000)


def direct_sync(sim, carrier: str, rate: float) -> tuple[int, int, float]:
    """(devices, requests, seconds) of one sync of a carrier's devices and usage at `rate`."""
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
        )
        client.rate_plans()  # log in outside the timing
    calls_before = client.http.calls
    started = time.perf_counter()
    devices = list(client.iter_devices())
    usage = list(client.iter_usage(devices))
    seconds = time.perf_counter() - started
    assert len({u.iccid for u in usage}) == len(devices)
    client.close()
    return len(devices), client.http.calls - calls_before, seconds


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
        "req/s",
        "dev/s",
        "max dev/s",
        "of max",
    )
    widths = (10, 7, 8, 8, 8, 7, 8, 9, 7)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    with running_simulator(new_state(devices=args.devices)) as sim:
        for rate in (float(r) for r in args.rates.split(",")):
            for carrier in ("jasper", "thingspace"):
                count, requests, seconds = direct_sync(sim, carrier, rate)
                carrier_devices = [d for d in sim.state.devices.values() if d.carrier == carrier]
                best_seconds = _fewest_requests(carrier, carrier_devices) / rate
                rates = f"{requests / seconds:>7.2f} {count / seconds:>8.1f} {count / best_seconds:>9.1f}"
                print(
                    f"{carrier:>10} {rate:>7g} {count:>8,} {requests:>8,} {seconds:>8.1f} {rates} "
                    f"{best_seconds / seconds:>7.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
