"""Every change type, registered once: what reading files, validation, approvals, execution, the
launchpad jobs and the CLI know of change types, they read here."""

from __future__ import annotations

from amop_pipelines.changes.change_type import ChangeType
from amop_pipelines.changes.types import (
    archive_device,
    assign_customer,
    change_carrier_rate_plan,
    change_customer_rate_plan,
    change_iccid_imei,
    update_device_status,
)

CHANGE_TYPES: dict[str, ChangeType] = {
    t.name: t
    for t in (
        archive_device.TYPE,
        assign_customer.TYPE,
        change_carrier_rate_plan.TYPE,
        change_customer_rate_plan.TYPE,
        change_iccid_imei.TYPE,
        update_device_status.TYPE,
    )
}


class UnknownChangeType(ValueError):
    pass


def change_type(name: str) -> ChangeType:
    """The registered type, or an error naming every type there is."""
    found = CHANGE_TYPES.get(name)
    if found is None:
        raise UnknownChangeType(f"unknown change type '{name}': one of {', '.join(CHANGE_TYPES)}")
    return found
