"""A job per change type for the Dagster launchpad: typed items in, a change request filed.

The items go through the same validation as `amop changes submit`; an approved (or uncritical)
request is then run by `change_requests_sensor` like any other.
"""

import dagster as dg

from amop_pipelines.changes.requests import RejectedFile, status, submit_rows
from amop_pipelines.defs.shared.database import AmopDatabase


class ArchiveItem(dg.Config):
    iccid: str


class AssignCustomerItem(dg.Config):
    iccid: str
    customer_id: str
    site_id: str = ""
    customer_rate_plan: str = ""


class CarrierRatePlanItem(dg.Config):
    iccid: str
    rate_plan: str


class CustomerRatePlanItem(dg.Config):
    iccid: str
    customer_rate_plan: str
    effective_date: str = ""  # ISO date; empty = now
    data_allocation_mb: str = ""


class IccidImeiItem(dg.Config):
    iccid: str
    new_iccid: str = ""
    new_imei: str = ""
    service_plan: str = ""


class StatusItem(dg.Config):
    iccid: str
    status: str  # Active, Inactive, Suspended, Pending
    reason_code: str = ""


ITEM_TYPES = {
    "archive_device": ArchiveItem,
    "assign_customer": AssignCustomerItem,
    "change_carrier_rate_plan": CarrierRatePlanItem,
    "change_customer_rate_plan": CustomerRatePlanItem,
    "change_iccid_imei": IccidImeiItem,
    "update_device_status": StatusItem,
}


def _job(change_type: str, item_type: type[dg.Config]) -> dg.JobDefinition:
    config_type = type(
        f"{item_type.__name__}s",
        (dg.Config,),
        {"__annotations__": {"items": list[item_type], "requested_by": str}, "requested_by": "launchpad"},
    )

    @dg.op(name=f"file_{change_type}")
    def file_request(context: dg.OpExecutionContext, config: config_type, amop_db: AmopDatabase) -> str:  # type: ignore[valid-type]
        rows = [item.model_dump() for item in config.items]  # type: ignore[attr-defined]
        try:
            request_id = submit_rows(amop_db.engine, change_type, rows, config.requested_by, "launchpad")  # type: ignore[attr-defined]
        except RejectedFile as rejected:
            raise dg.Failure(
                description=f"{len(rejected.problems)} problems; nothing was filed",
                metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in rejected.problems))},
            ) from rejected
        state = status(amop_db.engine, request_id)
        context.add_output_metadata({"request_id": request_id, "state": state.state, "items": len(rows)})
        return request_id

    file_request.__doc__ = f"File a {change_type} request from the typed items."

    @dg.job(name=f"{change_type}_job", tags={"amop/kind": "change"})
    def change_job() -> None:
        file_request()

    return change_job


launchpad_jobs = [_job(name, item) for name, item in ITEM_TYPES.items()]
defs = dg.Definitions(jobs=launchpad_jobs)
