"""Filling the carrier simulator: the demo fleet (or a devices.csv file) as the carriers would hold it.

It lives with the demo, not the simulator: the simulator serves whatever state it is given and
knows nothing of the demo's catalog."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from amop_pipelines.demo.catalog import JASPER, PLANS, THINGSPACE
from amop_pipelines.demo.fleet import generate_devices
from amop_pipelines.simulator.state import Credentials, SimDevice, SimRatePlan, SimState

BYTES_PER_MB = 1024 * 1024
CYCLE_DAYS = 30
_TS_STATES = {"active": "active", "suspend": "suspend", "deactive": "deactive"}


def _rate_plans(state: SimState) -> None:
    for carrier, spec in (("jasper", JASPER), ("thingspace", THINGSPACE)):
        for plan in PLANS[spec.name]:
            state.rate_plans[carrier, plan.plan_code] = SimRatePlan(
                carrier, plan.plan_code, f"{plan.plan_code} plan", float(plan.allowance_mb)
            )


def seed_demo_fleet(state: SimState, devices: int = 5000, seed: int = 7) -> None:
    """The demo fleet of `amop demo seed` with the same seed: the same SIMs, carrier-side."""
    _rate_plans(state)
    fleet = generate_devices(devices, seed)
    now = state.now()
    start, end = state.cycle_start(now), state.cycle_end(now)
    for row in fleet.iter_rows(named=True):
        carrier = "jasper" if row["provider"] == JASPER.name else "thingspace"
        if row["active_fraction"] >= 1:
            activated = now - timedelta(days=int(row["activated_days_before_start"]))
        else:  # activated during this cycle, as `amop demo seed` has it: late in it, maybe still ahead
            activated = start + (end - start) * (1 - row["active_fraction"])
        state.add(
            SimDevice(
                carrier=carrier,
                iccid=row["iccid"],
                imei=row["imei"],
                msisdn=row["msisdn"],
                imsi=row["imsi"],
                status=row["status"] if carrier == "jasper" else _TS_STATES[row["status"]],
                rate_plan=row["current_plan"],
                communication_plan=row["comm_plan"],
                customer=row["customer"],
                bytes_per_day=row["data_mb"] / max(row["active_fraction"], 1e-3) * BYTES_PER_MB / CYCLE_DAYS,
                sms_per_day=row["sms_count"] / CYCLE_DAYS,
                date_added=min(activated, now) - timedelta(days=3),
                date_activated=activated,
                date_updated=min(activated, now),  # a device the cycle activates later: set up now
            )
        )


def seed_fleet_file(state: SimState, devices_csv: Path, carrier: str = "jasper") -> int:
    """Devices from a devices.csv contract file, all on one carrier; returns how many."""
    _rate_plans(state)
    now = state.now()
    count = 0
    with Path(devices_csv).open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            usage = float(row.get("usage_mb") or 0)
            state.add(
                SimDevice(
                    carrier=carrier,
                    iccid=row["iccid"].strip(),
                    imei="",
                    msisdn="",
                    imsi="",
                    status="ACTIVATED" if carrier == "jasper" else "active",
                    rate_plan=(row.get("current_plan") or "").strip(),
                    communication_plan=row["comm_plan"].strip(),
                    customer=(row.get("pool_key") or None),
                    bytes_per_day=usage * BYTES_PER_MB / CYCLE_DAYS,
                    sms_per_day=float(row.get("sms_count") or 0) / CYCLE_DAYS,
                    date_added=now - timedelta(days=400),
                    date_activated=now - timedelta(days=365),
                    date_updated=now - timedelta(days=365),
                )
            )
            count += 1
    return count


def new_state(devices: int = 5000, seed: int = 7, credentials: Credentials | None = None) -> SimState:
    state = SimState(credentials or Credentials(), seed=seed)
    seed_demo_fleet(state, devices=devices, seed=seed)
    return state
