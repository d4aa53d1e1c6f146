"""`amop changes submit --dry-run`: the same checks, each item's change as it would be made, the
month's cost as the cost engine prices it with the new plans, and nothing stored."""

from datetime import UTC, datetime

import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.changes.cost_impact import cost_impact
from amop_pipelines.cli import main
from amop_pipelines.db.models import AuditLog, CarrierRatePlan, ChangeItem, ChangeRequest, Device


def _counts(engine) -> tuple[int, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (ChangeRequest, ChangeItem, AuditLog)
        )


def _submit(path, *extra: str):
    return CliRunner().invoke(main, ["changes", "submit", "change_carrier_rate_plan", str(path), *extra])


def test_a_dry_run_shows_each_change_and_the_cost_the_change_will_be_found_to_have(
    fleet, tmp_path, monkeypatch
):
    engine, rows = fleet
    # both projections at one instant: usage to date is projected over the days elapsed, which
    # move on between the dry run and the recalculation (by a cent or so on a loaded machine)
    frozen = datetime.now(UTC)
    monkeypatch.setattr("amop_pipelines.changes.cost_impact.current_time", lambda: frozen)
    chosen = [(iccid, plan) for iccid, _, plan in rows if plan not in ("J-POOL-20MB",)][:5]
    path = tmp_path / "plans.csv"
    path.write_text("iccid,rate_plan\n" + "".join(f"{iccid},J-POOL-20MB\n" for iccid, _ in chosen))
    before = _counts(engine)
    rehearsal = _submit(path, "--dry-run")
    assert rehearsal.exit_code == 0, rehearsal.output
    lines = rehearsal.output.strip().splitlines()
    assert lines[0] == "dry run of change_carrier_rate_plan: 5 items would be filed; nothing was stored"
    for number, (iccid, plan) in enumerate(chosen, start=2):
        assert f"plans.csv:{number}: {iccid}: rate_plan {plan} -> J-POOL-20MB" in lines
    (forecast,) = [line for line in lines if line.startswith("monthly cost")]
    assert forecast.endswith("5 devices would change")
    assert _counts(engine) == before  # nothing stored

    # filed and carried out, the cost recalculation after the change says what the dry run said
    request_id = _submit(path).output.strip().splitlines()[-1].removeprefix("request_id=")
    with engine.begin() as connection:
        connection.execute(sa.update(ChangeItem).values(state="completed"))
        target = connection.scalar(
            sa.select(CarrierRatePlan.id).where(CarrierRatePlan.plan_code == "J-POOL-20MB")
        )
        connection.execute(
            sa.update(Device)
            .where(Device.iccid.in_([i for i, _ in chosen]))
            .values(carrier_rate_plan_id=target)
        )
    after = cost_impact(engine, request_id)
    assert forecast.replace("would change", "changed") == after.line()


def test_a_dry_run_of_a_bad_file_lists_its_problems_and_stores_nothing(fleet, tmp_path):
    engine, _ = fleet
    path = tmp_path / "plans.csv"
    path.write_text("iccid,rate_plan\n89012600000000000001,NO-SUCH-PLAN\n")
    before = _counts(engine)
    result = _submit(path, "--dry-run")
    assert result.exit_code == 2 and f"{path}:2: iccid: unknown device" in result.output
    assert _counts(engine) == before
