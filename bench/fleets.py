"""Benchmark fleets in the contract formats, shaped like the demo fleet (not tuned to any method).

15 rate plans of the demo's Jasper account (6 pooled per-MB plans, 3 per-device plans with block
overage, a pay-as-you-go plan and 5 legacy plans, pooled and not), four communication plans
(one allowing all 15), customer pools for the devices the demo puts in one, proration for the
SIMs activated mid-cycle.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from amop_pipelines.contracts import DEVICES_COLUMNS, PLANS_COLUMNS, write_csv
from amop_pipelines.demo.catalog import COMM_PLANS, JASPER, PLANS
from amop_pipelines.demo.fleet import generate_devices

CYCLE_DAYS = 30
BENCH_PLANS = PLANS[JASPER.name][:15]


def write_bench_fleet(devices: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    codes = {p.plan_code for p in BENCH_PLANS}
    comm = {c.name: [p for p in c.plans if p in codes] for c in COMM_PLANS[JASPER.name]}
    plans_csv = folder / "plans.csv"
    write_csv(
        plans_csv,
        PLANS_COLUMNS,
        (
            (
                p.plan_code,
                p.monthly_charge,
                p.allowance_mb,
                p.overage_rate,
                p.overage_unit_mb,
                p.sms_rate,
                p.pooled,
                ";".join(name for name, allowed in comm.items() if p.plan_code in allowed),
                "",
            )
            for p in BENCH_PLANS
        ),
    )
    fleet = generate_devices(math.ceil(devices / JASPER.share) + 10, seed)
    fleet = fleet.filter(pl.col("provider") == JASPER.name).head(devices)
    fleet = fleet.with_columns(
        pl.when(pl.col("current_plan").is_in(list(codes))).then("current_plan").otherwise(pl.lit("J-PAYG")),
        pl.when(pl.col("active_fraction") < 1)
        .then((pl.col("active_fraction") * CYCLE_DAYS).round().clip(1, CYCLE_DAYS).cast(pl.Int64))
        .otherwise(None)
        .alias("days_active"),
        pl.when(pl.col("in_customer_pool")).then("customer").otherwise(None).alias("pool_key"),
    )
    devices_csv = folder / "devices.csv"
    write_csv(
        devices_csv,
        DEVICES_COLUMNS,
        fleet.select(
            "iccid",
            "comm_plan",
            "data_mb",
            "sms_count",
            "days_active",
            "pool_key",
            "current_plan",
            pl.lit(None).alias("optimization_group"),
        ).iter_rows(),
    )
    return devices_csv, plans_csv
