"""`amop rate-plans import`: the operator's prices in the plans.csv contract, since carriers
publish none. A good book prices plans exactly; a bad one is refused whole and stores nothing."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.carriers.models import RatePlanInfo
from amop_pipelines.cli import main
from amop_pipelines.contracts import PLANS_COLUMNS
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import CarrierRatePlan, CommunicationPlan, CommunicationPlanRatePlan
from amop_pipelines.demo.catalog import JASPER, THINGSPACE
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.settings import database_url
from amop_pipelines.sync.rate_plans import ACCOUNT_COMM_PLAN, account_comm_plan, sync_rate_plans

HEADER = ",".join(PLANS_COLUMNS)


@pytest.fixture
def engine(amop_env):
    url = database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    seed_demo(engine, devices=200)
    yield engine
    engine.dispose()


def _provider_id(engine, name: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT id FROM service_provider WHERE name = :n"), {"n": name})


def _plan(engine, provider: str, code: str):
    with sa.orm.Session(engine) as session:
        plan = session.scalars(
            sa.select(CarrierRatePlan).filter_by(
                service_provider_id=_provider_id(engine, provider), plan_code=code
            )
        ).one()
        allowed = set(
            session.scalars(
                sa.select(CommunicationPlan.name)
                .join(
                    CommunicationPlanRatePlan,
                    CommunicationPlanRatePlan.communication_plan_id == CommunicationPlan.id,
                )
                .where(CommunicationPlanRatePlan.carrier_rate_plan_id == plan.id)
            )
        )
        session.expunge(plan)
    return plan, allowed


def _import(tmp_path, provider: str, rows: list[str]):
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path, CliRunner().invoke(main, ["rate-plans", "import", "--provider", provider, str(path)])


def test_a_plan_the_carrier_listed_unpriced_is_priced_exactly_by_the_book(engine, tmp_path):
    provider_id = _provider_id(engine, JASPER.name)
    sync_rate_plans(engine, provider_id, [RatePlanInfo("J-NEW-2GB", "New 2 GB")])
    assert _plan(engine, JASPER.name, "J-NEW-2GB")[0].is_priced is False
    _path, result = _import(
        tmp_path, JASPER.name, ["J-NEW-2GB,12.3456,2048,0.0125,1.5,0.05,true,CP-CORE;CP-VIDEO,"]
    )
    assert result.exit_code == 0, result.output
    assert "priced 1 rate plans (0 new to AMOP)" in result.output
    plan, allowed = _plan(engine, JASPER.name, "J-NEW-2GB")
    assert plan.is_priced and plan.is_pooled
    assert (
        plan.monthly_charge,
        plan.allowance_mb,
        plan.overage_rate,
        plan.overage_unit_mb,
        plan.sms_rate,
    ) == (
        Decimal("12.3456"),
        Decimal("2048"),
        Decimal("0.0125"),
        Decimal("1.5"),
        Decimal("0.05"),
    )
    assert allowed == {"CP-CORE", "CP-VIDEO"}
    # what export writes, import reads back unchanged
    out = tmp_path / "exported.csv"
    assert (
        CliRunner()
        .invoke(main, ["rate-plans", "export", "--provider", JASPER.name, "--out", str(out)])
        .exit_code
        == 0
    )
    before = out.read_text()
    assert (
        CliRunner().invoke(main, ["rate-plans", "import", "--provider", JASPER.name, str(out)]).exit_code == 0
    )
    assert (
        CliRunner()
        .invoke(main, ["rate-plans", "export", "--provider", JASPER.name, "--out", str(out)])
        .exit_code
        == 0
    )
    assert out.read_text() == before


def test_a_book_with_a_bad_row_is_refused_whole_and_stores_nothing(engine, tmp_path):
    before, allowed_before = _plan(engine, JASPER.name, "J-PAYG")
    path, result = _import(
        tmp_path,
        JASPER.name,
        [
            "J-PAYG,99,0,0.5,1,0,false,CP-CORE,",  # valid, but its file is refused
            "J-POOL-1MB,1,1,-0.5,1,0,true,CP-CORE,",
            "J-POOL-5MB,1,5,0.5,1,0,maybe,CP-CORE,",
            "J-POOL-20MB,1,20,0.5,1,0,true,CP-NOWHERE,",
        ],
    )
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert (
        f"{path}:3: overage_rate: -0.5 must be at least 0.0001 (a plan without it cannot be optimized)"
        in lines
    )
    assert f"{path}:4: pooled: 'maybe' must be true or false" in lines
    after, allowed_after = _plan(engine, JASPER.name, "J-PAYG")
    assert (after.monthly_charge, allowed_after) == (before.monthly_charge, allowed_before)
    # a communication plan the carrier does not have is named too (nothing stored either)
    path, result = _import(tmp_path, JASPER.name, ["J-POOL-20MB,1,20,0.5,1,0,true,CP-NOWHERE,"])
    assert result.exit_code == 2
    assert f"{path}:2: comm_plans: unknown communication plan 'CP-NOWHERE'" in result.output.splitlines()
    assert _plan(engine, JASPER.name, "J-POOL-20MB")[1] != {"CP-NOWHERE"}


def test_an_unknown_provider_is_named(engine, tmp_path):
    _, result = _import(tmp_path, "Nobody", ["J-PAYG,1,0,0.5,1,0,false,CP-CORE,"])
    assert result.exit_code != 0
    assert (
        "no service provider 'Nobody' (known: Acme IoT (Jasper), Northwind Fleet (ThingSpace))"
        in result.output
    )


def test_thingspace_devices_form_one_group_over_the_accounts_priced_plans_by_default(engine, tmp_path):
    """ThingSpace has no communication plans: the account's own allows every priced plan, and a
    plan priced later joins it; operators' own groups (here TS-M2M) stay as they are."""
    provider_id = _provider_id(engine, THINGSPACE.name)
    with engine.begin() as connection:
        account_comm_plan(connection, provider_id)
    sync_rate_plans(engine, provider_id, [RatePlanInfo("T-NEW-9GB", "New 9 GB")])
    with sa.orm.Session(engine) as session:
        priced = set(
            session.scalars(
                sa.select(CarrierRatePlan.plan_code).filter_by(
                    service_provider_id=provider_id, is_priced=True
                )
            )
        )
    assert _plan(engine, THINGSPACE.name, "T-M2M-2MB")[1] >= {ACCOUNT_COMM_PLAN}
    assert ACCOUNT_COMM_PLAN not in _plan(engine, THINGSPACE.name, "T-NEW-9GB")[1]  # unpriced: not offered
    _, result = _import(tmp_path, THINGSPACE.name, ["T-NEW-9GB,30,9216,0.01,1,0,false,TS-M2M,"])
    assert result.exit_code == 0, result.output
    _, allowed = _plan(engine, THINGSPACE.name, "T-NEW-9GB")
    assert allowed == {"TS-M2M", ACCOUNT_COMM_PLAN}  # the book's group, and the account's own
    with sa.orm.Session(engine) as session:
        account = session.scalars(sa.select(CommunicationPlan).filter_by(name=ACCOUNT_COMM_PLAN)).one()
        offered = set(
            session.scalars(
                sa.select(CarrierRatePlan.plan_code)
                .join(
                    CommunicationPlanRatePlan,
                    CommunicationPlanRatePlan.carrier_rate_plan_id == CarrierRatePlan.id,
                )
                .where(CommunicationPlanRatePlan.communication_plan_id == account.id)
            )
        )
    assert offered == priced | {"T-NEW-9GB"}
