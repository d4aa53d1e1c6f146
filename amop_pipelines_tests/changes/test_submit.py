"""`amop changes submit` as DESIGN.md section 5 describes it: whole files accepted or rejected."""

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.db.models import AuditLog, ChangeItem, ChangeRequest, Device


def _submit(tmp_path, change_type: str, text: str, *extra: str):
    path = tmp_path / "changes.csv"
    path.write_bytes(text.encode("utf-8"))
    return CliRunner().invoke(main, ["changes", "submit", change_type, str(path), *extra]), path


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(
            connection.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (ChangeRequest, ChangeItem, AuditLog)
        )


def _other_plan(current: str) -> str:
    return "J-POOL-20MB" if current != "J-POOL-20MB" else "J-POOL-5MB"


def test_a_valid_file_becomes_a_request_with_its_items_and_an_audit_row(fleet, tmp_path):
    engine, rows = fleet
    body = "iccid,rate_plan\n" + "".join(f"{iccid},{_other_plan(plan)}\n" for iccid, _, plan in rows[:3])
    result, _ = _submit(tmp_path, "change_carrier_rate_plan", body, "--requested-by", "alice")
    assert result.exit_code == 0, result.output
    request_id = re.search(r"^request_id=(\w+)$", result.output.strip().splitlines()[-1]).group(1)
    assert _counts(engine) == (1, 3, 1)
    with engine.connect() as connection:
        kept = connection.scalars(sa.select(ChangeItem.previous_values)).all()
    assert [k["rate_plan"] for k in kept] == [plan for _, _, plan in rows[:3]]  # for a rollback
    status = CliRunner().invoke(main, ["changes", "status", request_id])
    assert "state: pending" in status.output and "items: pending 3" in status.output
    trail = CliRunner().invoke(main, ["changes", "audit", request_id])
    assert "alice created change_request" in trail.output


def test_a_spreadsheet_saved_file_is_accepted(fleet, tmp_path):
    engine, rows = fleet
    iccid, _, plan = rows[0]
    body = f'\ufeff"iccid" , "rate_plan"\r\n " {iccid} ",  "{_other_plan(plan)}" \r\n\r\n'
    result, _ = _submit(tmp_path, "change_carrier_rate_plan", body)
    assert result.exit_code == 0, result.output
    assert _counts(engine)[1] == 1


BAD = [
    (
        "update_device_status",
        "iccid,status\n{iccid},Active\n{iccid},Inactive\n",
        ":3: iccid: '{iccid}' appears twice",
    ),
    (
        "update_device_status",
        "iccid,status\n8901260000000000012,Active\n",
        ":2: iccid: unknown device '8901260000000000012'",
    ),
    (
        "update_device_status",
        "iccid,status\n890126000000000001A,Active\n",
        ":2: iccid: '890126000000000001A' must be digits 0-9",
    ),
    (
        "update_device_status",
        "iccid,status\n89012600000000001,Active\n",
        ":2: iccid: '89012600000000001' must have 19 or 20 digits",
    ),
    (
        "update_device_status",
        "iccid,status\n{iccid},Sleeping\n",
        ":2: status: 'Sleeping' must be one of Active",
    ),
    ("update_device_status", "iccid\n{iccid}\n", ":1: status: required column is missing"),
    ("update_device_status", "", ":1: file: is empty"),
    ("update_device_status", "iccid,status\n", ":2: file: has no rows"),
    (
        "change_carrier_rate_plan",
        "iccid,rate_plan\n{iccid},NO-SUCH-PLAN\n",
        ":2: rate_plan: unknown rate plan 'NO-SUCH-PLAN'",
    ),
    (
        "change_carrier_rate_plan",
        "iccid,rate_plan\n{iccid},J-IND-50MB\n",
        ":2: rate_plan: rate plan 'J-IND-50MB' is not allowed",
    ),
    (
        "change_iccid_imei",
        "iccid,new_imei\n{iccid},490154203237519\n",
        ":2: new_imei: '490154203237519' fails the Luhn",
    ),
    (
        "change_iccid_imei",
        "iccid,new_imei\n{iccid},4901542032375\n",
        ":2: new_imei: '4901542032375' must have 15 digits",
    ),
    (
        "change_iccid_imei",
        "iccid,new_iccid\n{iccid},{other}\n",
        ":2: new_iccid: the new SIM '{other}' is in use",
    ),
    (
        "change_iccid_imei",
        "iccid,service_plan\n{iccid},J-PAYG\n",
        ":2: new_iccid: new_iccid or new_imei is needed",
    ),
    (
        "change_customer_rate_plan",
        "iccid,customer_rate_plan,effective_date\n{iccid},BASIC,2026-13-45\n",
        ":2: effective_date: '2026-13-45' is not an ISO date",
    ),
    (
        "assign_customer",
        "iccid,customer_id\n{iccid},CUST-999\n",
        ":2: customer_id: unknown customer 'CUST-999'",
    ),
    (
        "assign_customer",
        "iccid,customer_id,site_id\n{iccid},CUST-001,Site Z\n",
        ":2: site_id: customer 'CUST-001' has no site 'Site Z'",
    ),
    ("update_device_status", "iccid,status,colour\n{iccid},Active,red\n", ":1: colour: unknown column"),
    (
        "archive_device",
        "iccid\n{iccid}\n",
        ":0: requested_by: 'operator' does not hold the archive permission",
    ),
]


@pytest.mark.parametrize(
    ("change_type", "body", "message"), BAD, ids=[b[2].split(": ", 2)[-1][:40] for b in BAD]
)
def test_bad_input_is_rejected_whole_with_file_row_field_message(fleet, tmp_path, change_type, body, message):
    engine, rows = fleet
    iccid, other = rows[0][0], rows[1][0]
    before = _counts(engine)
    valid_row = (
        f"{rows[2][0]},Active\n" if change_type == "update_device_status" and body.count("\n") > 1 else ""
    )
    result, path = _submit(tmp_path, change_type, body.format(iccid=iccid, other=other) + valid_row)
    assert result.exit_code != 0
    expected = str(path) + message.format(iccid=iccid, other=other)
    assert any(line.startswith(expected) for line in result.output.splitlines()), result.output
    assert _counts(engine) == before  # nothing stored


def test_an_unknown_change_type_is_refused(fleet, tmp_path):
    result, _ = _submit(tmp_path, "paint_device", "iccid\n8901\n")
    assert result.exit_code != 0 and "unknown change type 'paint_device'" in result.output


def test_critical_requests_wait_for_an_approval_not_from_the_requester(fleet, tmp_path, monkeypatch):
    engine, rows = fleet
    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "2")
    result, _ = _submit(
        tmp_path, "update_device_status", f"iccid,status\n{rows[0][0]},Inactive\n", "--requested-by", "alice"
    )
    request_id = result.output.strip().splitlines()[-1].split("=")[1]
    assert "state: awaiting_approval (approvals 0 of 2)" in result.output
    assert "approvers notified" in result.output  # mail to the outbox (no SMTP host here)
    (notice,) = [m.read_text() for m in (tmp_path / "data" / "outbox").glob("*.eml")]
    assert "waits for approval" in notice and f"amop changes approve {request_id} --by" in notice
    runner = CliRunner()
    assert "cannot approve" in runner.invoke(main, ["changes", "approve", request_id, "--by", "alice"]).output
    assert (
        "awaiting_approval" in runner.invoke(main, ["changes", "approve", request_id, "--by", "bob"]).output
    )
    assert "already approved" in runner.invoke(main, ["changes", "approve", request_id, "--by", "bob"]).output
    assert ": pending" in runner.invoke(main, ["changes", "approve", request_id, "--by", "carol"]).output
    with engine.connect() as connection:
        actions = connection.scalars(
            sa.select(AuditLog.action).where(AuditLog.request_id == request_id)
        ).all()
    assert actions == ["created", "approved", "approved"]


def test_archiving_is_refused_while_the_device_was_used_recently(fleet, tmp_path, monkeypatch):
    engine, _ = fleet
    monkeypatch.setenv("AMOP_ARCHIVERS", "admin")
    with engine.connect() as connection:
        used = connection.scalar(
            sa.text(
                "SELECT d.iccid FROM device d JOIN device_usage u ON u.device_id = d.id "
                "WHERE u.data_mb > 0 LIMIT 1"
            )
        )
    result, path = _submit(tmp_path, "archive_device", f"iccid\n{used}\n", "--requested-by", "admin")
    assert result.exit_code != 0
    assert f"{path}:2: iccid: has usage in the last 30 days" in result.output
    with engine.connect() as connection:
        assert not connection.scalar(sa.select(Device.is_archived).where(Device.iccid == used))


def test_rollback_files_a_request_back_to_each_devices_previous_plan(fleet, tmp_path):
    engine, rows = fleet
    (iccid, _, plan), (other, _, _) = [r for r in rows if r[2] not in ("J-POOL-20MB", "J-POOL-5MB")][:2]
    body = f"iccid,rate_plan\n{iccid},J-POOL-20MB\n{other},J-POOL-5MB\n"
    result, _ = _submit(tmp_path, "change_carrier_rate_plan", body)
    request_id = result.output.strip().splitlines()[-1].removeprefix("request_id=")
    refused = CliRunner().invoke(main, ["changes", "rollback", request_id])
    assert refused.exit_code != 0 and "has no completed item to roll back" in refused.output

    with engine.begin() as connection:  # the first item went through; the device is on its new plan
        connection.execute(sa.update(ChangeItem).where(ChangeItem.iccid == iccid).values(state="completed"))
        connection.execute(
            sa.text(
                "UPDATE device SET carrier_rate_plan_id = (SELECT id FROM carrier_rate_plan "
                "WHERE plan_code = 'J-POOL-20MB') WHERE iccid = :i"
            ),
            {"i": iccid},
        )
    result = CliRunner().invoke(main, ["changes", "rollback", request_id, "--requested-by", "carol"])
    assert result.exit_code == 0, result.output
    back = result.output.strip().splitlines()[-1].removeprefix("request_id=")
    with engine.connect() as connection:
        items = connection.execute(
            sa.select(ChangeItem.iccid, ChangeItem.parameters)
            .join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            .where(ChangeRequest.request_id == back)
        ).all()
    assert [(i.iccid, i.parameters["rate_plan"]) for i in items] == [(iccid, plan)]  # only the completed item


def test_approval_names_compare_as_people_mean_them_and_critical_changes_keep_an_approver(
    fleet, tmp_path, monkeypatch
):
    """`ALICE` and `alice ` are alice: she cannot approve her own request that way, nor approve
    twice; a blank name is no approval; AMOP_APPROVALS_REQUIRED=0 leaves critical changes one
    approval unless AMOP_ALLOW_UNAPPROVED_CRITICAL says otherwise, and the request says it was waived."""
    engine, rows = fleet
    result, _ = _submit(
        tmp_path, "update_device_status", f"iccid,status\n{rows[0][0]},Inactive\n", "--requested-by", "alice"
    )
    request_id = result.output.strip().splitlines()[-1].split("=")[1]
    runner = CliRunner()
    for disguise in ("ALICE", "alice ", " Alice"):
        refused = runner.invoke(main, ["changes", "approve", request_id, "--by", disguise])
        assert refused.exit_code == 1 and "cannot approve it" in refused.output
    assert "must name someone" in runner.invoke(main, ["changes", "approve", request_id, "--by", "  "]).output
    assert ": pending" in runner.invoke(main, ["changes", "approve", request_id, "--by", "bob"]).output

    monkeypatch.setenv("AMOP_APPROVALS_REQUIRED", "0")
    kept, _ = _submit(
        tmp_path, "update_device_status", f"iccid,status\n{rows[1][0]},Inactive\n", "--requested-by", "alice"
    )
    assert "state: awaiting_approval (approvals 0 of 1)" in kept.output  # 0 is not a way around it
    monkeypatch.setenv("AMOP_ALLOW_UNAPPROVED_CRITICAL", "true")
    waived, _ = _submit(
        tmp_path, "update_device_status", f"iccid,status\n{rows[2][0]},Inactive\n", "--requested-by", "alice"
    )
    waived_id = waived.output.strip().splitlines()[-1].split("=")[1]
    assert "state: pending (approvals 0 of 0)" in waived.output
    with engine.connect() as connection:
        created = connection.scalar(
            sa.select(AuditLog.after).where(AuditLog.request_id == waived_id, AuditLog.action == "created")
        )
    assert created["approval"] == "waived by AMOP_ALLOW_UNAPPROVED_CRITICAL"
    blank = _submit(
        tmp_path, "update_device_status", f"iccid,status\n{rows[3][0]},Active\n", "--requested-by", " "
    )
    assert blank[0].exit_code != 0 and "--requested-by must name someone" in blank[0].output


def test_submitting_a_file_reports_each_stage_on_stderr_and_keeps_stdout_for_the_result(fleet, tmp_path):
    """A large file takes a while: each stage (reading, checking against the fleet, storing) prints a
    line with its count and time as it ends, on standard error, so that scripts still read the
    result, whose last line is request_id=<id>, from standard output."""
    _, rows = fleet
    body = "iccid,rate_plan\n" + "".join(f"{iccid},{_other_plan(plan)}\n" for iccid, _, plan in rows)
    result, _ = _submit(tmp_path, "change_carrier_rate_plan", body)
    assert result.exit_code == 0, result.output
    stages = result.stderr.splitlines()
    assert [re.sub(r"\(\d+\.\d s\)", "(T)", line) for line in stages] == [
        f"read {len(rows):,} rows of changes.csv (T)",
        f"checked {len(rows):,} rows against the fleet (T)",
        f"stored {len(rows):,} items as one request (T)",
    ]
    assert re.fullmatch(r"request_id=\w+", result.stdout.strip().splitlines()[-1])
    assert "rows of" not in result.stdout
