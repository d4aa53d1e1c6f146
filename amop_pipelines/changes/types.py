"""The six change types and their CSV columns (DESIGN.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeType:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    always_critical: bool = False  # needs approval whatever its size

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


ARCHIVE_DEVICE = ChangeType("archive_device", ("iccid",), always_critical=True)
ASSIGN_CUSTOMER = ChangeType("assign_customer", ("iccid", "customer_id"), ("site_id", "customer_rate_plan"))
CHANGE_CARRIER_RATE_PLAN = ChangeType("change_carrier_rate_plan", ("iccid", "rate_plan"))
CHANGE_CUSTOMER_RATE_PLAN = ChangeType(
    "change_customer_rate_plan", ("iccid", "customer_rate_plan"), ("effective_date", "data_allocation_mb")
)
CHANGE_ICCID_IMEI = ChangeType(
    "change_iccid_imei", ("iccid",), ("new_iccid", "new_imei", "service_plan"), always_critical=True
)
UPDATE_DEVICE_STATUS = ChangeType("update_device_status", ("iccid", "status"), ("reason_code",))

CHANGE_TYPES = {
    t.name: t
    for t in (
        ARCHIVE_DEVICE,
        ASSIGN_CUSTOMER,
        CHANGE_CARRIER_RATE_PLAN,
        CHANGE_CUSTOMER_RATE_PLAN,
        CHANGE_ICCID_IMEI,
        UPDATE_DEVICE_STATUS,
    )
}
DEVICE_STATUSES = ("Active", "Inactive", "Suspended", "Pending")
