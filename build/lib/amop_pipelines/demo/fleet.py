"""A deterministic fleet generator: the same seed and size give the same devices, byte for byte.

Usage follows what IoT fleets look like: a quarter of the SIMs near idle, a lognormal body
around each communication plan's median, a heavy Pareto tail, and some SIMs activated mid-cycle
(their usage scaled to the days they were active). Current plans are what a fleet drifts into:
half sized sensibly for the device's usage, half left on whatever plan it was given.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from amop_pipelines.demo.catalog import (
    COMM_PLANS,
    CUSTOMER_COUNT,
    CUSTOMER_RATE_PLANS,
    PLANS,
    PROVIDERS,
    ProviderSpec,
    customer_external_id,
    customer_has_pool,
    customer_sites,
)
from amop_pipelines.identifiers import with_luhn_digits

IDLE_SHARE = 0.25
HEAVY_TAIL_SHARE = 0.03
MID_CYCLE_SHARE = 0.08
UNASSIGNED_SHARE = 0.15
_SERIAL_STRIDE = 7919  # prime, coprime with 10: index -> serial is a bijection below 10**k
_IMEI_TACS = ("35332011", "35875402", "86753103", "01326300")
_STATUSES = {
    "jasper": (("ACTIVATED", 0.93), ("ACTIVATION_READY", 0.03), ("DEACTIVATED", 0.04)),
    "thingspace": (("active", 0.94), ("suspend", 0.03), ("deactive", 0.03)),
}


def provider_device_counts(devices: int) -> list[int]:
    """How many of `devices` each demo provider gets (the last takes the remainder)."""
    counts = [int(devices * spec.share) for spec in PROVIDERS[:-1]]
    return [*counts, devices - sum(counts)]


def _serials(offset: int, count: int, digits: int) -> np.ndarray:
    modulus = 10**digits
    return (offset % modulus + np.arange(count, dtype=np.int64) * _SERIAL_STRIDE) % modulus


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...], count: int) -> np.ndarray:
    names = np.array([name for name, _ in options])
    weights = np.array([weight for _, weight in options])
    return names[rng.choice(len(names), size=count, p=weights / weights.sum())]


def _usage(rng: np.random.Generator, medians: np.ndarray) -> np.ndarray:
    count = len(medians)
    usage = rng.lognormal(mean=np.log(medians), sigma=1.1)
    heavy = rng.random(count) < HEAVY_TAIL_SHARE
    usage[heavy] *= 5 * (1 + np.minimum(rng.pareto(1.5, heavy.sum()), 40))
    usage = np.minimum(usage, medians * 200)  # even the heaviest SIM stays within reason
    idle = rng.random(count) < IDLE_SHARE
    usage[idle] = rng.uniform(0, 0.5, idle.sum())
    return usage


def _current_plans(
    rng: np.random.Generator,
    usage: np.ndarray,
    allowed: list[str],
    allowances: dict[str, float],
) -> np.ndarray:
    plans = np.array(allowed)
    sizes = np.array([allowances[p] for p in allowed])
    fit = np.abs(np.log1p(sizes)[None, :] - np.log1p(usage)[:, None]).argmin(axis=1)
    drift = rng.integers(0, len(plans), len(usage))
    return plans[np.where(rng.random(len(usage)) < 0.5, fit, drift)]


def _provider_devices(
    spec: ProviderSpec, provider_index: int, count: int, rng: np.random.Generator
) -> pl.DataFrame:
    # Identifier offsets are drawn first, so a larger fleet of the same seed starts with the
    # same SIMs: seeding 100,000 after 5,000 adds 95,000 devices rather than 100,000.
    offsets = [int(o) for o in rng.integers(0, 10**12, 4)]
    comm_specs = COMM_PLANS[spec.name]
    plan_specs = {p.plan_code: p for p in PLANS[spec.name]}
    allowances = {code: float(p.allowance_mb) for code, p in plan_specs.items()}

    comm = _choice(rng, tuple((c.name, c.share) for c in comm_specs), count)
    medians = np.empty(count)
    sms_rate = np.empty(count)
    group = np.full(count, None, dtype=object)
    current = np.empty(count, dtype=object)
    for c in comm_specs:
        mask = comm == c.name
        medians[mask] = c.median_mb
        sms_rate[mask] = c.sms_per_cycle
    usage = _usage(rng, medians)
    for c in comm_specs:
        mask = comm == c.name
        if c.optimization_groups:
            groups = _choice(rng, c.optimization_groups, int(mask.sum()))
            group[mask] = groups
            for name, _ in c.optimization_groups:
                sub = np.flatnonzero(mask)[groups == name]
                allowed = [p for p in c.plans if plan_specs[p].optimization_group == name]
                current[sub] = _current_plans(rng, usage[sub], allowed, allowances)
        else:
            current[mask] = _current_plans(rng, usage[mask], list(c.plans), allowances)

    active_fraction = np.ones(count)
    mid = rng.random(count) < MID_CYCLE_SHARE
    active_fraction[mid] = rng.uniform(0.03, 0.97, mid.sum())
    usage = usage * active_fraction
    sms = rng.poisson(sms_rate * active_fraction)
    sms[usage < 0.5] = 0

    serial_digits = 18 - len(spec.iccid_prefix)
    iccid_payload = np.int64(int(spec.iccid_prefix) * 10**serial_digits) + _serials(
        offsets[0], count, serial_digits
    )
    # A TAC per provider and per million devices keeps IMEIs unique across the whole fleet.
    tac_index = provider_index + (np.arange(count) // 10**6) * len(PROVIDERS)
    tacs = np.array([int(t) for t in _IMEI_TACS], dtype=np.int64)[tac_index % len(_IMEI_TACS)]
    imei_payload = tacs * 10**6 + _serials(offsets[1], count, 6)
    msisdn = np.char.add(
        f"1{spec.msisdn_area}",
        np.char.zfill(_serials(offsets[2], count, 7).astype(str), 7),
    )
    imsi = np.char.add("310410", np.char.zfill(_serials(offsets[3], count, 9).astype(str), 9))

    customer_index = rng.integers(0, CUSTOMER_COUNT, count)
    assigned = rng.random(count) >= UNASSIGNED_SHARE
    customers = np.array([customer_external_id(i) for i in range(CUSTOMER_COUNT)])[customer_index]
    site_pick = rng.integers(0, 3, count)
    sites = np.array(
        [customer_sites(i)[s % len(customer_sites(i))] for i in range(CUSTOMER_COUNT) for s in range(3)]
    )
    site = sites[customer_index * 3 + site_pick]
    crp_codes = np.array([code for code, *_ in CUSTOMER_RATE_PLANS])
    crp = crp_codes[np.clip(np.searchsorted([5, 50], usage), 0, 2)]
    has_pool = np.array([customer_has_pool(i) for i in range(CUSTOMER_COUNT)])[customer_index]
    in_pool = assigned & has_pool & (rng.random(count) < 0.5)

    return pl.DataFrame(
        {
            "provider": np.full(count, spec.name),
            "iccid": with_luhn_digits(iccid_payload, 18),
            "imei": with_luhn_digits(imei_payload, 14),
            "msisdn": msisdn,
            "imsi": imsi,
            "status": _choice(rng, _STATUSES[spec.integration], count),
            "comm_plan": comm,
            "current_plan": current.astype(str),
            "optimization_group": group.tolist(),
            "customer": np.where(assigned, customers, None).tolist(),
            "site": np.where(assigned, site, None).tolist(),
            "customer_rate_plan": np.where(assigned, crp, None).tolist(),
            "in_customer_pool": in_pool,
            "data_mb": np.round(usage, 3),
            "sms_count": sms.astype(np.int64),
            "active_fraction": np.round(active_fraction, 4),
            "activated_days_before_start": rng.integers(1, 900, count),
        },
        schema_overrides={
            "optimization_group": pl.String,
            "customer": pl.String,
            "site": pl.String,
            "customer_rate_plan": pl.String,
        },
    )


def generate_devices(devices: int = 5000, seed: int = 7) -> pl.DataFrame:
    """The whole demo fleet as one frame: one row per device, both providers."""
    if devices < 0:
        raise ValueError(f"devices must not be negative, not {devices}")
    frames = []
    for index, (spec, count) in enumerate(zip(PROVIDERS, provider_device_counts(devices), strict=True)):
        rng = np.random.default_rng([seed, index])
        frames.append(_provider_devices(spec, index, count, rng))
    return pl.concat(frames)
