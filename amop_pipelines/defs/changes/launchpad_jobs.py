"""A job per registered change type for the Dagster launchpad: typed items in (the type's CSV
columns), a change request filed.

The items go through the same validation as `amop changes submit`; an approved (or uncritical)
request is then run by `change_requests_sensor` like any other.
"""

import dagster as dg
from pydantic import Field

from amop_pipelines.changes.change_type import ChangeType
from amop_pipelines.changes.registry import CHANGE_TYPES
from amop_pipelines.changes.requests import RejectedFile, status, submit_rows
from amop_pipelines.changes.summaries import approval_notice
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.notifier import Notifier
from amop_pipelines.identities import launchpad_requester

SHOWN_PROBLEMS = 50


def refusal_text(problems: list[str]) -> str:
    """The refused rows, one a line ("launchpad:N: field: why"); past 50, the count of the rest."""
    head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was filed:"
    lines = [f"- {p}" for p in problems[:SHOWN_PROBLEMS]]
    rest = len(problems) - SHOWN_PROBLEMS
    return "\n".join([head, *lines, *([f"... and {rest} more (all in the metadata)"] if rest > 0 else [])])


def item_type(change_type: ChangeType) -> type[dg.Config]:
    """The launchpad's typed item of a change type: its CSV columns as fields (optional ones may be
    left empty), each with the column's description."""
    fields: dict = {"__annotations__": {}, "__doc__": f"One item of a {change_type.title} request."}
    for column in change_type.columns:
        fields["__annotations__"][column.name] = str
        default = ... if column.required else ""
        fields[column.name] = Field(default=default, description=column.description)
    name = "".join(part.title() for part in change_type.name.split("_")) + "Item"
    return type(name, (dg.Config,), fields)


def launchpad_job(spec: ChangeType) -> dg.JobDefinition:
    change_type, item = spec.name, item_type(spec)
    config_type = type(
        f"{item.__name__}s",
        (dg.Config,),
        {
            "__annotations__": {"items": list[item], "requested_by": str},
            "requested_by": Field(default="launchpad", description="Who asks for the change."),
        },
    )

    @dg.op(name=f"file_{change_type}")
    def file_request(
        context: dg.OpExecutionContext,
        config: config_type,  # type: ignore[valid-type]
        amop_db: AmopDatabase,
        notifier: Notifier,
    ) -> str:
        rows = [item.model_dump() for item in config.items]  # type: ignore[attr-defined]
        requester, unproven = launchpad_requester(
            amop_db.engine,
            context.run.tags.get("dagster/user"),
            config.requested_by,  # type: ignore[attr-defined]
        )
        try:
            request_id = submit_rows(
                amop_db.engine, change_type, rows, requester, "launchpad", min_approvals=int(unproven)
            )
        except RejectedFile as rejected:
            # the rows as a list the run page shows first (no stack trace of the refusal)
            raise dg.Failure(
                description=refusal_text(rejected.problems),
                metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in rejected.problems))},
                allow_retries=False,
            ) from None
        state = status(amop_db.engine, request_id)
        notice = approval_notice(amop_db.engine, request_id)
        if notice is not None:
            notifier.send(amop_db.engine, "approval", notice.subject, notice.body)
        context.add_output_metadata(
            {
                "request_id": request_id,
                "state": state.state,
                "items": len(rows),
                "approvers_notified": bool(notice),
                "requested_by": requester,
            }
        )
        return request_id

    file_request.__doc__ = f"File a {spec.title} request from the typed items."

    @dg.job(
        name=f"{change_type}_job",
        tags={"amop/kind": "change"},
        description=(
            f"Files a {spec.title} request from typed items (the launchpad's form), checked like "
            "`amop changes submit`; change_requests_sensor runs it once approved."
        ),
    )
    def change_job() -> None:
        file_request()

    return change_job


launchpad_jobs = [launchpad_job(spec) for spec in CHANGE_TYPES.values()]
defs = dg.Definitions(jobs=launchpad_jobs)
