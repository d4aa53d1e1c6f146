import csv

import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.contracts import DEVICES_COLUMNS, PLANS_COLUMNS
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import CarrierRatePlan, Customer, Device, DeviceUsage
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.settings import database_url


def _count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(model))


def test_seeding_twice_gives_the_same_5000_devices_once(amop_env):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "seed"])
    assert first.exit_code == 0, first.output
    engine = make_engine(database_url())
    with engine.connect() as connection:
        before = set(connection.scalars(sa.select(Device.iccid)))
    counts = {m: _count(engine, m) for m in (Device, DeviceUsage, CarrierRatePlan, Customer)}

    second = runner.invoke(main, ["demo", "seed"])
    assert second.exit_code == 0, second.output
    with engine.connect() as connection:
        after = set(connection.scalars(sa.select(Device.iccid)))
    assert len(before) == 5000
    assert after == before
    assert {m: _count(engine, m) for m in counts} == counts
    assert counts[DeviceUsage] == 5000


def test_seed_works_on_postgresql_too(engine):
    report = seed_demo(engine, devices=2000, seed=3)
    again = seed_demo(engine, devices=2000, seed=3)
    assert report.devices_in_database == again.devices_in_database == 2000
    with engine.connect() as connection:
        money = connection.scalar(
            sa.select(CarrierRatePlan.monthly_charge).where(CarrierRatePlan.plan_code == "J-POOL-1MB")
        )
    assert str(money) == "0.9000"


def test_exports_follow_the_contract_and_reread_cleanly(amop_env, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "seed", "--devices", "1500"]).exit_code == 0
    devices_csv, plans_csv = tmp_path / "devices.csv", tmp_path / "plans.csv"
    result = runner.invoke(main, ["devices", "export", "--out", str(devices_csv), "--customer-pools"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["rate-plans", "export", "--out", str(plans_csv)])
    assert result.exit_code == 0, result.output

    with devices_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == DEVICES_COLUMNS
        devices = list(reader)
    with plans_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == PLANS_COLUMNS
        plans = {row["plan_code"]: row for row in reader}

    assert len(devices) == 1500
    assert len({d["iccid"] for d in devices}) == 1500
    for device in devices:
        float(device["usage_mb"])
        int(device["sms_count"])
        assert device["days_active"] == "" or int(device["days_active"]) >= 1
        plan = plans[device["current_plan"]]
        assert device["comm_plan"] in plan["comm_plans"].split(";")
        assert device["optimization_group"] == plan["optimization_group"]
    assert any(d["pool_key"] for d in devices) and any(not d["pool_key"] for d in devices)
    assert {p["pooled"] for p in plans.values()} == {"true", "false"}
    assert all(float(p["overage_rate"]) > 0 and float(p["overage_unit_mb"]) > 0 for p in plans.values())

    engine = make_engine(database_url())
    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.sum(DeviceUsage.data_mb)))
    assert abs(sum(float(d["usage_mb"]) for d in devices) - float(total)) < 1e-6


def test_export_of_an_unknown_provider_is_a_clear_error(amop_env, tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    result = runner.invoke(
        main, ["rate-plans", "export", "--out", str(tmp_path / "p.csv"), "--provider", "Nope"]
    )
    assert result.exit_code != 0
    assert "unknown service provider 'Nope'" in result.output
    assert not (tmp_path / "p.csv").exists()
