"""The change-type registry: every type declared completely, once, and everything that knows change
types (file reading, validation, approvals, execution, launchpad jobs, CLI) reading it."""

import importlib
import pkgutil
from decimal import Decimal, InvalidOperation

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.changes import registry
from amop_pipelines.changes import types as type_modules
from amop_pipelines.changes.change_type import AmopOnly, ChangeType, Column
from amop_pipelines.changes.executor import execute_request
from amop_pipelines.changes.requests import RejectedFile, approvals_needed, status, submit_rows
from amop_pipelines.cli import main
from amop_pipelines.db.models import AuditLog, ChangeRequest, Device
from amop_pipelines.definitions import defs
from amop_pipelines.defs.changes.launchpad_jobs import launchpad_job
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier

HANDLER_METHODS = ("steps", "not_before", "apply", "already_applied", "effect")


def test_every_type_module_is_registered_under_its_module_name():
    modules = {m.name for m in pkgutil.iter_modules(type_modules.__path__)}
    assert modules == set(registry.CHANGE_TYPES)
    for name in modules:
        module = importlib.import_module(f"{type_modules.__name__}.{name}")
        assert registry.CHANGE_TYPES[name] is module.TYPE


@pytest.mark.parametrize("name", sorted(registry.CHANGE_TYPES))
def test_every_registered_type_is_complete(name):
    spec = registry.CHANGE_TYPES[name]
    assert spec.title and spec.name == name
    assert spec.columns[0] == Column("iccid", spec.columns[0].description) and spec.columns[0].required
    assert len(set(spec.column_names)) == len(spec.columns)
    assert all(column.description for column in spec.columns)
    assert callable(spec.rule)
    assert all(callable(getattr(spec.handler, method, None)) for method in HANDLER_METHODS)
    # the launchpad has its job, with the type's columns as the item's fields
    job = defs.get_job_def(f"{name}_job")
    op = job.graph.node_named(f"file_{name}").definition
    item_fields = op.config_schema.config_type.fields["items"].config_type.inner_type.fields
    assert set(item_fields) == set(spec.column_names)
    assert {f for f, field in item_fields.items() if field.is_required} == set(spec.required)
    # the CLI lists it, with its columns
    listed = CliRunner().invoke(main, ["changes", "types"]).output
    assert f"{name}: {spec.title}" in listed
    assert f"  {spec.required[-1]}*" in listed


def test_an_unknown_type_is_refused_naming_every_type(sqlite_engine, amop_env):
    with pytest.raises(ValueError, match="unknown change type 'swap_sim': one of archive_device, "):
        submit_rows(sqlite_engine, "swap_sim", [{"iccid": "8901"}], "alice", "test")
    result = CliRunner().invoke(main, ["changes", "submit", "swap_sim", "x.csv"])
    assert result.exit_code != 0
    assert "unknown change type 'swap_sim': one of archive_device, assign_customer," in result.output


def _allocation_rule(session, device, values, problem):
    try:
        if Decimal(values["data_allocation_mb"]) < 0:
            raise InvalidOperation
    except InvalidOperation:
        problem("data_allocation_mb", f"'{values['data_allocation_mb']}' is not a number of MB, 0 or more")


class SetAllocation(AmopOnly):
    def effect(self, engine, device, parameters, provider, step="change"):
        with engine.begin() as connection:
            connection.execute(
                sa.update(Device)
                .where(Device.id == device.id)
                .values(customer_data_allocation_mb=Decimal(parameters["data_allocation_mb"]))
            )


SEVENTH = ChangeType(
    name="set_data_allocation",
    title="Set Data Allocation",
    columns=(Column("iccid", "the device's ICCID"), Column("data_allocation_mb", "MB, 0 or more")),
    rule=_allocation_rule,
    handler=SetAllocation(),
)


def test_a_seventh_type_is_one_declaration_and_one_registration(world, monkeypatch):
    """Registered, the new type is validated, filed, approved (or not), executed and audited, and
    its launchpad job files it: nothing else learns of it."""
    _, engine, client_for, tmp_path = world
    monkeypatch.setitem(registry.CHANGE_TYPES, SEVENTH.name, SEVENTH)
    with engine.connect() as connection:
        first, second = connection.scalars(sa.select(Device.iccid).order_by(Device.id).limit(2)).all()
    with pytest.raises(RejectedFile) as rejected:
        submit_rows(engine, SEVENTH.name, [{"iccid": first, "data_allocation_mb": "-5"}], "alice", "test")
    assert "test:1: data_allocation_mb: '-5' is not a number of MB" in str(rejected.value.problems[0])
    assert approvals_needed(SEVENTH.name, [{"parameters": {"data_allocation_mb": "1"}}]) == 0

    request_id = submit_rows(
        engine, SEVENTH.name, [{"iccid": first, "data_allocation_mb": "250"}], "alice", "t"
    )
    report = execute_request(engine, request_id, client_for)
    assert report.state == "completed" and report.counts == {"completed": 1}
    with engine.connect() as connection:
        allocation = connection.scalar(
            sa.select(Device.customer_data_allocation_mb).where(Device.iccid == first)
        )
        audited = connection.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.request_id == request_id)
        )
    assert allocation == Decimal("250") and audited >= 3

    url = engine.url.render_as_string(hide_password=False)
    result = launchpad_job(SEVENTH).execute_in_process(
        run_config={
            "ops": {
                "file_set_data_allocation": {
                    "config": {
                        "items": [{"iccid": second, "data_allocation_mb": "10"}],
                        "requested_by": "bob",
                    }
                }
            }
        },
        resources={"amop_db": AmopDatabase(url=url), "notifier": Notifier(outbox_dir=str(tmp_path))},
    )
    filed = result.output_for_node("file_set_data_allocation")
    assert status(engine, filed).state == "pending"
    with engine.connect() as connection:
        assert (
            connection.scalar(sa.select(ChangeRequest.change_type).where(ChangeRequest.request_id == filed))
            == SEVENTH.name
        )
