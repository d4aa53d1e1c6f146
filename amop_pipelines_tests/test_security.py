"""Security review, as tests: secrets stay out of everything Dagster stores, SQL is only ever built
from SQLAlchemy parameters, and hostile text stays data.

Elsewhere: the callback endpoint's authentication in changes/test_callbacks.py (no token or a
wrong one: 401, nothing stored; no secret configured: the receiver refuses to start, below);
formula injection and report folder confinement in reports/test_workbook.py; the carrier clients'
own logs and errors in carriers/test_clients.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from amop_pipelines.changes.callbacks import receiver_app
from amop_pipelines.changes.requests import audit_trail, status, submit_file
from amop_pipelines.db.models import ChangeRequest, Device, ServiceProvider
from amop_pipelines.defs.optimization.assets import optimization_assets
from amop_pipelines.defs.shared.carriers import carriers_from_env
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.launch import materialize_month
from amop_pipelines.defs.shared.notifier import notifier_from_env
from amop_pipelines.defs.sync.assets import sync_assets
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.demo.simulated_fleet import new_state
from amop_pipelines.simulator.server import running_simulator
from amop_pipelines.simulator.state import Credentials

PACKAGE = Path(__file__).resolve().parents[1] / "amop_pipelines"
SECRETS = Credentials(
    jasper_username="ops-j-8c1f",
    jasper_api_key="jk-4f1d9a7e2b6c45d8a0e3",
    thingspace_client_id="ts-client-77b2",
    thingspace_client_secret="tscs-93e0c4b18f2a4d6e",
    thingspace_username="ops-ts-51aa",
    thingspace_password="tspw-d2b7e91c6a0f4e35",
)
SMTP_PASSWORD = "smtp-pw-6e2a1c0d9b8f"
NO_MILP = {"ops": {"comm_plan_groups": {"config": {"milp_seconds": 0}}}}


def test_configured_secrets_appear_nowhere_in_dagster_storage(
    tmp_path, sqlite_engine, sqlite_url, monkeypatch
):
    """Sync and optimization runs with the secrets from the environment, while the carriers fail,
    throttle and expire sessions (so that retries and re-logins are logged): no byte of the
    instance's storage (event log, run records, captured step output, stored values) holds one."""
    seed_demo(sqlite_engine, devices=400)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.update(ServiceProvider).values(rate_limit_per_second=0))
    with running_simulator(new_state(devices=400, credentials=SECRETS)) as sim:
        for carrier in ("jasper", "thingspace"):
            sim.set_faults(
                carrier,
                rate_limit_per_second=0,
                max_in_flight=0,
                error_rate=0.2,
                throttle_rate=0.1,
                retry_after_seconds=0.01,
            )
        environment = {
            "AMOP_CARRIER_BASE_URL": sim.base_url,
            "AMOP_JASPER_USERNAME": SECRETS.jasper_username,
            "AMOP_JASPER_API_KEY": SECRETS.jasper_api_key,
            "AMOP_THINGSPACE_CLIENT_ID": SECRETS.thingspace_client_id,
            "AMOP_THINGSPACE_CLIENT_SECRET": SECRETS.thingspace_client_secret,
            "AMOP_THINGSPACE_USERNAME": SECRETS.thingspace_username,
            "AMOP_THINGSPACE_PASSWORD": SECRETS.thingspace_password,
            "AMOP_SMTP_PASSWORD": SMTP_PASSWORD,
            "AMOP_OUTBOX_DIR": str(tmp_path / "outbox"),
            "AMOP_DATA_DIR": str(tmp_path / "data"),
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        resources = {
            "amop_db": AmopDatabase(url=sqlite_url),
            "carriers": carriers_from_env(),
            "notifier": notifier_from_env(),
        }
        with Session(sqlite_engine) as session:
            providers = session.scalars(sa.select(ServiceProvider)).all()
            session.expunge_all()
        storage = tmp_path / "dagster"
        storage.mkdir()
        with dg.instance_for_test(temp_dir=str(storage)) as instance:
            for provider in providers:
                sim.expire_sessions()
                result = materialize_month(
                    [*sync_assets, *optimization_assets],
                    provider,
                    instance,
                    resources,
                    run_config=NO_MILP,  # what is stored, not what the optimizer finds, is checked
                )
                assert result.success
            logins = sim.stats()["logins"]
    assert logins > len(providers)  # sessions expired between runs: logged in again
    files = [path for path in storage.rglob("*") if path.is_file()]
    assert len(files) > 5 and any(path.suffix == ".db" for path in files)
    for path in files:
        content = path.read_bytes()
        for secret in (*vars(SECRETS).values(), SMTP_PASSWORD):
            assert secret.encode() not in content, f"{secret!r} stored in {path.relative_to(storage)}"


def _sql_building_calls(tree: ast.AST):
    """Calls that take SQL text, whose text is built at run time (f-string, %, +, .format())."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in ("text", "exec_driver_sql", "execute"):
            continue
        argument = node.args[0]
        built = isinstance(argument, ast.JoinedStr) or (
            isinstance(argument, ast.BinOp) and not _constant(argument)
        )
        built |= (
            isinstance(argument, ast.Call)
            and isinstance(argument.func, ast.Attribute)
            and argument.func.attr == "format"
        )
        if built:
            yield node


def _constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.BinOp) and _constant(node.left) and _constant(node.right)


def test_sql_is_never_built_from_strings():
    """Every query goes through SQLAlchemy's expression language or a literal text() with bound
    parameters; none is assembled from values (which is how injection gets in)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno}" for node in _sql_building_calls(tree)]
    assert offenders == []


def test_the_check_finds_sql_built_from_values():
    """The check above would see the patterns it forbids."""
    source = (
        "conn.execute(sa.text(f\"SELECT * FROM device WHERE iccid = '{iccid}'\"))\n"
        "conn.exec_driver_sql('DELETE FROM device WHERE id = %s' % device_id)\n"
        "sa.text('SELECT ' + column + ' FROM device')\n"
        "conn.execute(sa.text('SELECT 1 FROM device WHERE id = {}'.format(i)))\n"
        "conn.execute(sa.text('SELECT * FROM device WHERE iccid = :iccid'), {'iccid': iccid})\n"
        "sa.text('SELECT 1 ' + 'FROM device')\n"
    )
    assert sorted(node.lineno for node in _sql_building_calls(ast.parse(source))) == [1, 2, 3, 4]


def test_hostile_text_is_stored_as_data(sqlite_engine, tmp_path):
    """A requester name and CSV values made of SQL are kept verbatim and run nothing."""
    seed_demo(sqlite_engine, devices=100)
    with sqlite_engine.connect() as connection:
        devices = connection.scalar(sa.select(sa.func.count()).select_from(Device))
        iccid = connection.scalar(sa.select(Device.iccid).where(Device.customer_id.is_not(None)).limit(1))
    hostile = "x'); DROP TABLE device; --"
    path = tmp_path / "plans.csv"
    path.write_text(f"iccid,customer_rate_plan\n{iccid},BASIC\n")
    request_id = submit_file(sqlite_engine, "change_customer_rate_plan", path, hostile)
    with sqlite_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(Device)) == devices
        stored = connection.scalar(
            sa.select(ChangeRequest.requested_by).where(ChangeRequest.request_id == request_id)
        )
    assert stored == hostile and status(sqlite_engine, request_id).items_by_state == {"pending": 1}
    assert any(hostile in line for line in audit_trail(sqlite_engine, request_id))
    bad = tmp_path / "bad.csv"
    bad.write_text("iccid,customer_rate_plan\n\"1' OR '1'='1\",BASIC\n")
    with pytest.raises(Exception, match=r"bad.csv:2: iccid: .* must be digits 0-9"):
        submit_file(sqlite_engine, "change_customer_rate_plan", bad, "alice")


def test_the_callback_receiver_does_not_start_without_a_secret(sqlite_engine, monkeypatch):
    monkeypatch.delenv("AMOP_CALLBACK_SECRET", raising=False)
    with pytest.raises(ValueError, match="set AMOP_CALLBACK_SECRET"):
        receiver_app(sqlite_engine)
