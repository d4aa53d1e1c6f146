"""`amop optimize` at the edges of what it takes: values outside the documented bounds are
refused as FILE:ROW: field, and at the bounds the printed total is the exact cost of the written
assignment, computed here independently with fractions by DESIGN.md section 3's formula."""

import csv
import math
from collections import defaultdict
from fractions import Fraction

import pytest
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.optimization.problem import MAX_CHARGE, MAX_MB, MAX_RATE, MAX_SMS, MIN_UNIT_MB

HEADER = "plan_code,monthly_charge,allowance_mb,overage_rate,overage_unit_mb,sms_rate,pooled,comm_plans\n"
DEVICE_HEADER = "iccid,comm_plan,usage_mb,sms_count,days_active,pool_key,current_plan\n"
D = 31


def _iccid(n: int) -> str:
    return f"89012600000{n:08d}"


def _run(tmp_path, plans: str, devices: str):
    (tmp_path / "plans.csv").write_text(plans)
    (tmp_path / "devices.csv").write_text(devices)
    out = tmp_path / "assignments.csv"
    args = ["optimize", "--devices", str(tmp_path / "devices.csv"), "--plans", str(tmp_path / "plans.csv")]
    return CliRunner().invoke(main, [*args, "--cycle-days", str(D), "--out", str(out)]), out


def _reference_cents(plans: dict, devices: list[dict], assignment: dict[str, str]) -> int:
    """DESIGN.md section 3 with fractions: pools per (pooled plan, pool key), a device alone otherwise."""
    pools = defaultdict(list)
    for device in devices:
        code = assignment[device["iccid"]]
        key = (code, device["pool_key"]) if plans[code]["pooled"] else (code, device["iccid"])
        pools[key].append(device)
    total = 0
    for (code, _), members in pools.items():
        plan = plans[code]
        S = sum(Fraction(min(m["days"], D), D) for m in members)
        U = sum(m["usage"] for m in members)
        M = sum(m["sms"] for m in members)
        over = max(Fraction(0), U - S * plan["allowance"])
        blocks = math.ceil(over / plan["unit"])
        cost = S * plan["charge"] + blocks * plan["rate"] + M * plan["sms"]
        total += math.floor(cost * 100 + Fraction(1, 2))  # half-up to cents
    return total


def test_at_the_bounds_the_total_is_exact(tmp_path):
    plans = {
        "FLAT": {
            "charge": MAX_CHARGE,
            "allowance": MAX_MB,
            "rate": MAX_RATE,
            "unit": MIN_UNIT_MB,
            "pooled": False,
        },
        "POOL": {"charge": MAX_CHARGE, "allowance": 0, "rate": MAX_RATE, "unit": MIN_UNIT_MB, "pooled": True},
        "CHEAP": {"charge": 0, "allowance": 0, "rate": MAX_RATE, "unit": MIN_UNIT_MB, "pooled": False},
    }
    for plan in plans.values():
        plan["sms"] = MAX_RATE
    plan_text = HEADER + "".join(
        f"{code},{p['charge']},{p['allowance']},{p['rate']},{p['unit']},{p['sms']},{str(p['pooled']).lower()},CP\n"
        for code, p in plans.items()
    )
    devices = [
        {
            "iccid": _iccid(n),
            "usage": Fraction(MAX_MB) if n % 3 else Fraction(1, 1000),
            "sms": MAX_SMS,
            "days": D + n % 2,
            "pool_key": f"K{n % 2}",
        }
        for n in range(300)
    ]
    device_text = DEVICE_HEADER + "".join(
        f"{d['iccid']},CP,{float(d['usage'])!r},{d['sms']},{d['days']},{d['pool_key']},FLAT\n"
        for d in devices
    )
    plans = {
        code: {k: (Fraction(str(v)) if k != "pooled" else v) for k, v in p.items()}
        for code, p in plans.items()
    }
    result, out = _run(tmp_path, plan_text, device_text)
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        assignment = {iccid: code for iccid, code in list(csv.reader(handle))[1:]}
    expected = _reference_cents(plans, devices, assignment)
    assert expected > 10**15  # far past what float64 cents or an int64 product would carry exactly
    total = result.output.strip().splitlines()[-1]
    assert total == f"total_cost={expected // 100}.{expected % 100:02d}"
    before = _reference_cents(plans, devices, {d["iccid"]: "FLAT" for d in devices})
    assert f"cost before: {before // 100}.{before % 100:02d} " in result.output


@pytest.mark.parametrize(
    "plan_row,field,message",
    [
        ("P,1000000.0001,1,1,1,0,false,CP", "monthly_charge", "is over the limit of 1,000,000"),
        ("P,1,1000000.000001,1,1,0,false,CP", "allowance_mb", "is over the limit of 1,000,000"),
        ("P,1,1,10000.0001,1,0,false,CP", "overage_rate", "is over the limit of 10,000"),
        ("P,1,1,1,0.0009,0,false,CP", "overage_unit_mb", "must be at least 0.001"),
        ("P,1,1,1,1,10001,false,CP", "sms_rate", "is over the limit of 10,000"),
        ("P,1e308,1,1,1,0,false,CP", "monthly_charge", "is over the limit"),
        ("P,-1,1,1,1,0,false,CP", "monthly_charge", "must be zero or more"),
        ("P,inf,1,1,1,0,false,CP", "monthly_charge", "is not a number"),
    ],
)
def test_plan_values_outside_the_bounds_are_refused_by_row_and_field(tmp_path, plan_row, field, message):
    result, out = _run(tmp_path, HEADER + plan_row + "\n", DEVICE_HEADER + f"{_iccid(1)},CP,1,0,,,\n")
    assert result.exit_code == 2
    assert any(
        line.startswith(f"{tmp_path / 'plans.csv'}:2: {field}: ") and message in line
        for line in result.output.splitlines()
    ), result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "usage,sms,field,message",
    [
        ("1e308", "0", "usage_mb", "is over the limit of 1,000,000 MB"),
        ("1000000.5", "0", "usage_mb", "is over the limit of 1,000,000 MB"),
        ("nan", "0", "usage_mb", "is not a number"),
        ("-0.5", "0", "usage_mb", "must not be negative"),
        ("1", "10000001", "sms_count", "is over the limit of 10,000,000"),
        ("1", "99999999999999999999", "sms_count", "is not a whole number"),
    ],
)
def test_device_values_outside_the_bounds_are_refused_by_row_and_field(tmp_path, usage, sms, field, message):
    result, out = _run(
        tmp_path,
        HEADER + "P,1,1,1,1,0,false,CP\n",
        DEVICE_HEADER + f"{_iccid(1)},CP,1,0,,,\n{_iccid(2)},CP,{usage},{sms},,,\n",
    )
    assert result.exit_code == 2
    assert any(
        line.startswith(f"{tmp_path / 'devices.csv'}:3: {field}: ") and message in line
        for line in result.output.splitlines()
    ), result.output
    assert not out.exists()


def test_a_cycle_longer_than_a_month_is_refused(tmp_path):
    (tmp_path / "p.csv").write_text(HEADER + "P,1,1,1,1,0,false,CP\n")
    (tmp_path / "d.csv").write_text(DEVICE_HEADER + f"{_iccid(1)},CP,1,0,,,\n")
    args = [
        "optimize",
        "--devices",
        str(tmp_path / "d.csv"),
        "--plans",
        str(tmp_path / "p.csv"),
        "--out",
        str(tmp_path / "o.csv"),
    ]
    result = CliRunner().invoke(main, [*args, "--cycle-days", "400"])
    assert result.exit_code == 2 and "--cycle-days" in result.output
