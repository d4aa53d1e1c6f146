"""Identities that cannot be typed: once users exist, every acting command needs the token of a
user holding the role; a typed name that is not the token's user is refused, nobody approves
their own request, tokens are stored hashed and can be revoked; the audit names the
authenticated users. Launchpad requests without a proven user wait for an approver."""

import dagster as dg
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.cli import main
from amop_pipelines.db.models import AmopUser, AuditLog, ChangeRequest
from amop_pipelines.defs.changes.launchpad_jobs import launchpad_jobs
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.settings import database_url


def _amop(token: str | None, *args: str):
    return CliRunner(env={"AMOP_TOKEN": token}).invoke(main, list(args))  # None: unset


def _token(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _team():
    admin = _token(_amop(None, "users", "add", "Alice", "--role", "admin"))
    bob = _token(_amop(admin, "users", "add", "bob", "--role", "requester"))
    carol = _token(_amop(admin, "users", "add", "carol", "--role", "approver"))
    return admin, bob, carol


def _requests(engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return connection.execute(sa.select(ChangeRequest.request_id, ChangeRequest.requested_by)).all()


def test_only_the_first_user_comes_without_a_token_and_must_be_an_admin(fleet):
    refused = _amop(None, "users", "add", "bob", "--role", "requester")
    assert refused.exit_code == 1 and "the first user must be an admin" in refused.output
    admin = _token(_amop(None, "users", "add", "Alice", "--role", "admin"))
    again = _amop(None, "users", "add", "mallory", "--role", "admin")
    assert again.exit_code == 1 and "no token: set AMOP_TOKEN" in again.output
    bob = _token(_amop(admin, "users", "add", "bob", "--role", "requester"))
    assert _amop(bob, "users", "add", "eve", "--role", "admin").output.strip().endswith("bob is not an admin")
    engine, _ = fleet
    with engine.connect() as connection:
        stored = connection.execute(sa.select(AmopUser.name, AmopUser.token_hash)).all()
    assert {name for name, _ in stored} == {"Alice", "bob"}
    assert all(admin not in digest and bob not in digest and len(digest) == 64 for _, digest in stored)


def test_requests_are_filed_and_approved_as_the_authenticated_users_only(fleet, tmp_path):
    engine, rows = fleet
    _, bob, carol = _team()
    path = tmp_path / "changes.csv"
    path.write_text(f"iccid,status\n{rows[0][0]},Inactive\n")  # critical: waits for an approver

    forged = _amop(bob, "changes", "submit", "update_device_status", str(path), "--requested-by", "carol")
    assert forged.exit_code == 1 and "you are bob: acting as 'carol' is refused" in forged.output
    for token in (None, "not-a-token-of-anyone-at-all"):
        refused = _amop(token, "changes", "submit", "update_device_status", str(path))
        assert refused.exit_code == 1 and "token" in refused.output
    not_requester = _amop(carol, "changes", "submit", "update_device_status", str(path))
    assert not_requester.exit_code == 1 and "carol is not a requester" in not_requester.output
    assert _requests(engine) == []  # nothing stored by any refusal

    filed = _amop(bob, "changes", "submit", "update_device_status", str(path))
    request_id = _token(filed).removeprefix("request_id=")
    assert _requests(engine) == [(request_id, "bob")]
    own = _amop(bob, "changes", "approve", request_id)
    assert own.exit_code == 1 and "bob is not an approver" in own.output
    forged_approval = _amop(carol, "changes", "approve", request_id, "--by", "Alice")
    assert forged_approval.exit_code == 1 and "acting as 'Alice' is refused" in forged_approval.output
    approved = _amop(carol, "changes", "approve", request_id)
    assert approved.exit_code == 0 and f"request {request_id} approved by carol: pending" in approved.output
    with engine.connect() as connection:
        actors = connection.execute(
            sa.select(AuditLog.actor, AuditLog.action)
            .where(AuditLog.request_id == request_id)
            .order_by(AuditLog.id)
        ).all()
    assert actors == [("bob", "created"), ("carol", "approved")]


def test_an_admin_cannot_approve_their_own_request_either(fleet, tmp_path):
    _, rows = fleet
    admin, _, _ = _team()
    path = tmp_path / "changes.csv"
    path.write_text(f"iccid,status\n{rows[0][0]},Inactive\n")
    request_id = _token(_amop(admin, "changes", "submit", "update_device_status", str(path))).split("=")[1]
    refused = _amop(admin, "changes", "approve", request_id)
    assert (
        refused.exit_code == 1
        and "Alice filed request" in refused.output
        and "cannot approve it" in refused.output
    )


def test_a_revoked_token_stops_working_and_a_new_one_works(fleet, tmp_path):
    admin, bob, _ = _team()
    assert _amop(admin, "users", "revoke", "BOB").exit_code == 0
    path = tmp_path / "changes.csv"
    path.write_text("iccid,status\n89012600000000000001,Active\n")
    refused = _amop(bob, "changes", "submit", "update_device_status", str(path))
    assert refused.exit_code == 1 and "not a valid token" in refused.output
    fresh = _token(_amop(admin, "users", "token", "bob"))
    assert fresh != bob
    still = _amop(fresh, "changes", "submit", "update_device_status", str(path))
    assert "not a valid token" not in still.output and "is not a requester" not in still.output
    listing = _amop(admin, "users", "list").output
    assert "bob  requester  active" in listing and "Alice  admin  active" in listing


def test_a_launchpad_request_without_a_proven_user_waits_for_an_approver(fleet):
    engine, rows = fleet
    _team()
    job = next(j for j in launchpad_jobs if j.name == "change_carrier_rate_plan_job")

    def config(row) -> dict:
        iccid, _, plan = row
        target = "J-POOL-20MB" if plan != "J-POOL-20MB" else "J-POOL-5MB"
        return {
            "ops": {
                "file_change_carrier_rate_plan": {
                    "config": {"items": [{"iccid": iccid, "rate_plan": target}], "requested_by": "bob"}
                }
            }
        }

    resources = {"amop_db": AmopDatabase(url=database_url()), "notifier": Notifier()}
    with dg.instance_for_test() as instance:
        unproven = job.execute_in_process(
            run_config=config(rows[0]),
            resources=resources,
            instance=instance,
        )
        proven = job.execute_in_process(
            run_config=config(rows[1]),
            resources=resources,
            instance=instance,
            tags={"dagster/user": "bob"},
        )
    assert unproven.success and proven.success
    with engine.connect() as connection:
        filed = connection.execute(
            sa.select(ChangeRequest.requested_by, ChangeRequest.state).order_by(ChangeRequest.id)
        ).all()
    # a plan change alone needs no approval; unproven, it waits for one
    assert filed[0] == ("bob (launchpad, unproven)", "awaiting_approval")
    assert filed[1].requested_by == "bob" and filed[1].state != "awaiting_approval"


def test_the_archive_permission_goes_to_the_proven_user_not_a_typed_name(fleet, tmp_path, monkeypatch):
    engine, rows = fleet
    monkeypatch.setenv("AMOP_ARCHIVERS", "Alice")
    admin, bob, _ = _team()
    path = tmp_path / "archive.csv"
    path.write_text(f"iccid\n{rows[0][0]}\n")
    claimed = _amop(bob, "changes", "submit", "archive_device", str(path), "--requested-by", "alice")
    assert claimed.exit_code == 1 and "you are bob: acting as 'alice' is refused" in claimed.output
    own = _amop(bob, "changes", "submit", "archive_device", str(path))
    assert own.exit_code == 2 and "'bob' does not hold the archive permission" in own.output
    assert _requests(engine) == []
    archiver = _amop(admin, "changes", "submit", "archive_device", str(path))
    assert "does not hold the archive permission" not in archiver.output
