"""`amop optimize` as DESIGN.md section 5 describes it, good files and bad."""

import csv
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.optimization.cost import assignment_cost
from amop_pipelines.optimization.inputs import read_problem

PLANS = (
    "plan_code,monthly_charge,allowance_mb,overage_rate,overage_unit_mb,sms_rate,pooled,comm_plans,optimization_group\n"
    "SMALL,1.00,5,0.50,1,0.02,true,CP-A;CP-B,\n"
    "BIG,8.00,100,0.20,1,0.02,true,CP-A,\n"
    "BLOCK,3.00,20,4.00,20,0.02,false,CP-B,\n"
)
DEVICES = (
    "iccid,comm_plan,usage_mb,sms_count,days_active,pool_key,current_plan,optimization_group\n"
    "8901260000000000001,CP-A,250.5,3,,,SMALL,\n"
    "8901260000000000002,CP-A,0.2,0,12,,BIG,\n"
    "8901260000000000003,CP-B,31,1,,CUST-1,SMALL,\n"
    "8901260000000000004,CP-B,3,0,,CUST-1,BLOCK,\n"
)


def _run(tmp_path, devices=DEVICES, plans=PLANS, *extra):
    (tmp_path / "devices.csv").write_text(devices, newline="")
    (tmp_path / "plans.csv").write_text(plans, newline="")
    out = tmp_path / "assignments.csv"
    args = ["optimize", "--devices", str(tmp_path / "devices.csv"), "--plans", str(tmp_path / "plans.csv")]
    result = CliRunner().invoke(main, [*args, "--cycle-days", "30", "--out", str(out), *extra])
    return result, out


@pytest.mark.parametrize("method", ["exact", "legacy"])
def test_writes_assignments_and_ends_with_the_total_cost(tmp_path, method):
    result, out = _run(tmp_path, DEVICES, PLANS, "--method", method)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"total_cost=\d+\.\d\d", last)
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["iccid", "plan_code"]
    assert len(rows) == 5
    problem = read_problem(tmp_path / "devices.csv", tmp_path / "plans.csv", 30)
    index = problem.plans.index()
    import numpy as np

    assignment = np.array([index[plan] for _, plan in rows[1:]])
    assert assignment_cost(problem, assignment).total == Decimal(last.split("=")[1])
    assert "cost before:" in result.output
    if method == "exact":
        assert "lower bound:" in result.output and "gap to lower bound:" in result.output


def test_spreadsheet_saved_files_are_accepted(tmp_path):
    devices = "\ufeff" + DEVICES.replace("\n", "\r\n").replace("CP-A,0.2", '"CP-A", 0.2 ')
    result, out = _run(tmp_path, devices, "\ufeff" + PLANS.replace("\n", "\r\n"))
    assert result.exit_code == 0, result.output
    assert out.exists()


BAD = [
    (
        "devices",
        lambda d: d.replace("usage_mb,", "usage,"),
        "devices.csv:1: usage_mb: required column is missing",
    ),
    ("devices", lambda d: d.replace("250.5", "lots"), "devices.csv:2: usage_mb: 'lots' is not a number"),
    ("devices", lambda d: d.replace("250.5", "-4"), "devices.csv:2: usage_mb: -4 must not be negative"),
    (
        "devices",
        lambda d: d.replace(",SMALL,\n8901260000000000002", ",NOPE,\n8901260000000000002"),
        "devices.csv:2: current_plan: 'NOPE' is not a plan of the plans file",
    ),
    (
        "devices",
        lambda d: d.replace("8901260000000000004,CP-B", "8901260000000000004,CP-Z"),
        "devices.csv:5: comm_plan: no plan of the plans file is allowed for communication plan 'CP-Z'",
    ),
    (
        "devices",
        lambda d: d.replace("0000000000002", "0000000000001"),
        "devices.csv:3: iccid: '8901260000000000001' appears twice",
    ),
    (
        "devices",
        lambda d: d.replace("8901260000000000003", "7701260000000000003"),
        "devices.csv:4: iccid: '7701260000000000003' must start with 89",
    ),
    (
        "devices",
        lambda d: d.replace(",3,,,SMALL", ",x,,,SMALL"),
        "devices.csv:2: sms_count: 'x' is not a whole number",
    ),
    ("devices", lambda d: "", "devices.csv:1: file: is empty"),
    (
        "plans",
        lambda p: p.replace("1.00,5,0.50,1", "1.00,5,0,1"),
        "plans.csv:2: overage_rate: 0 must be at least 0.0001",
    ),
    (
        "plans",
        lambda p: p.replace("3.00,20,4.00,20", "3.00,20,4.00,0"),
        "plans.csv:4: overage_unit_mb: 0 must be at least 0.001",
    ),
    (
        "plans",
        lambda p: p.replace("8.00,100", "eight,100"),
        "plans.csv:3: monthly_charge: 'eight' is not a number",
    ),
    (
        "plans",
        lambda p: p.replace("true,CP-A,", "maybe,CP-A,"),
        "plans.csv:3: pooled: 'maybe' must be true or false",
    ),
    ("plans", lambda p: p + "SMALL,1,1,1,1,0,true,CP-A,\n", "plans.csv:5: plan_code: 'SMALL' appears twice"),
]


@pytest.mark.parametrize(("which", "change", "message"), BAD, ids=[b[2].split(": ", 1)[-1][:40] for b in BAD])
def test_bad_input_names_file_row_and_field_and_writes_nothing(tmp_path, which, change, message):
    devices = change(DEVICES) if which == "devices" else DEVICES
    plans = change(PLANS) if which == "plans" else PLANS
    result, out = _run(tmp_path, devices, plans)
    assert result.exit_code != 0
    lines = [line.replace(str(tmp_path) + "/", "") for line in result.output.splitlines()]
    assert any(line.startswith(message) for line in lines), result.output
    assert not out.exists()
    assert not any(tmp_path.glob(".assignments*"))


def test_out_never_replaces_an_input_or_anything_but_a_regular_file(tmp_path):
    """--out may be a new path or a regular file, never one of the inputs (under any name) and
    never a device node, FIFO or symlink to one: refused before any work, nothing touched."""
    import os

    (tmp_path / "devices.csv").write_text(DEVICES, newline="")
    (tmp_path / "plans.csv").write_text(PLANS, newline="")
    os.symlink(tmp_path / "plans.csv", tmp_path / "plans-link.csv")
    os.mkfifo(tmp_path / "pipe")
    os.symlink("/dev/null", tmp_path / "null-link")
    base = ["optimize", "--devices", str(tmp_path / "devices.csv"), "--plans", str(tmp_path / "plans.csv")]
    for out, words in (
        (tmp_path / "devices.csv", "that is an input"),
        (tmp_path / "plans-link.csv", "that is an input"),
        (tmp_path / "pipe", "not a regular file"),
        (tmp_path / "null-link", "not a regular file"),
    ):
        result = CliRunner().invoke(main, [*base, "--cycle-days", "30", "--out", str(out)])
        assert result.exit_code == 1 and words in result.output, (out, result.output)
    assert (tmp_path / "devices.csv").read_text() == DEVICES and (tmp_path / "plans.csv").read_text() == PLANS
    assert (tmp_path / "null-link").is_symlink() and os.path.exists("/dev/null")
    fine = CliRunner().invoke(main, [*base, "--cycle-days", "30", "--out", str(tmp_path / "out.csv")])
    assert fine.exit_code == 0 and (tmp_path / "out.csv").is_file()
