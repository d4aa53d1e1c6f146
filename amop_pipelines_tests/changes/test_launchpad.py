"""The launchpad jobs: typed items filed as a request, bad items refused whole."""

import sqlalchemy as sa

from amop_pipelines.changes.requests import status
from amop_pipelines.db.models import ChangeRequest, Notification
from amop_pipelines.defs.changes.launchpad_jobs import launchpad_jobs
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.demo.seed import seed_demo

JOBS = {job.name: job for job in launchpad_jobs}


def test_a_job_per_change_type():
    assert set(JOBS) == {
        "archive_device_job",
        "assign_customer_job",
        "change_carrier_rate_plan_job",
        "change_customer_rate_plan_job",
        "change_iccid_imei_job",
        "update_device_status_job",
    }


def test_typed_items_become_a_request_and_bad_items_file_nothing(sqlite_url, sqlite_engine, tmp_path):
    seed_demo(sqlite_engine, devices=200)
    with sqlite_engine.connect() as connection:
        iccids = connection.scalars(
            sa.text("SELECT iccid FROM device WHERE status = 'ACTIVATED' ORDER BY iccid LIMIT 2")
        ).all()
    job = JOBS["update_device_status_job"]
    items = [
        {"iccid": iccids[0], "status": "Inactive"},
        {"iccid": iccids[1], "status": "Inactive", "reason_code": "R1"},
    ]
    config = {"ops": {"file_update_device_status": {"config": {"items": items, "requested_by": "alice"}}}}
    resources = {"amop_db": AmopDatabase(url=sqlite_url), "notifier": Notifier(outbox_dir=str(tmp_path))}
    result = job.execute_in_process(run_config=config, resources=resources)
    assert result.success
    request_id = result.output_for_node("file_update_device_status")
    assert status(sqlite_engine, request_id).items_by_state == {"pending": 2}
    # deactivations wait for approval: the approvers are told, with the command to approve
    with sqlite_engine.connect() as connection:
        (notice,) = connection.execute(sa.select(Notification).where(Notification.kind == "approval")).all()
    assert status(sqlite_engine, request_id).state == "awaiting_approval"
    assert notice.subject == f"AMOP change request {request_id} waits for approval"
    assert f"amop changes approve {request_id} --by" in notice.body and "Requested by alice" in notice.body

    bad = {
        "ops": {
            "file_update_device_status": {"config": {"items": [{"iccid": iccids[0], "status": "Asleep"}]}}
        }
    }
    failed = job.execute_in_process(run_config=bad, resources=resources, raise_on_error=False)
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    refusal = failure.event_specific_data.user_failure_data
    # the refused rows as a list the run page shows first, not a stack trace of the refusal
    assert refusal.description.splitlines()[0] == "1 problem; nothing was filed:"
    assert refusal.description.splitlines()[1].startswith("- launchpad:1: status: 'Asleep' must be one of")
    assert "Traceback" not in str(failure.event_specific_data.error)
    assert "RejectedFile" not in str(failure.event_specific_data.error.cause)
    with sqlite_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == 1
