"""The demo fleet's reference data: two providers, their plans, customers and sites.

Chosen to exercise every rule: pooled and per-device plans, per-MB and block overage, plans
restricted to some communication plans, Mobility plans in optimization groups, and one
communication plan (CP-LEGACY) allowing 17 rate plans, over the 15-plan limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    integration: str
    account_name: str
    billing_cycle_end_day: int
    time_zone: str
    optimization_start_hour: int
    iccid_prefix: str  # leading digits; the serial and Luhn digit follow
    msisdn_area: str
    share: float  # fraction of the fleet's devices
    carrier_settings: dict[str, str] | None = None  # see the carrier's KIND.settings


@dataclass(frozen=True)
class PlanSpec:
    plan_code: str
    monthly_charge: str
    allowance_mb: str
    overage_rate: str
    overage_unit_mb: str
    sms_rate: str
    pooled: bool
    plan_type: str = "M2M"
    optimization_group: str | None = None

    def money(self, name: str) -> Decimal:
        return Decimal(getattr(self, name))


@dataclass(frozen=True)
class CommPlanSpec:
    name: str
    plans: tuple[str, ...]
    share: float  # fraction of the provider's devices
    median_mb: float  # median full-cycle usage of the lognormal body
    sms_per_cycle: float
    optimization_groups: tuple[tuple[str, float], ...] = field(default_factory=tuple)


JASPER = ProviderSpec(
    name="Acme IoT (Jasper)",
    integration="jasper",
    account_name="ACME-IOT",
    billing_cycle_end_day=18,
    time_zone="America/Chicago",
    optimization_start_hour=6,
    iccid_prefix="8901260",
    msisdn_area="312",
    share=0.6,
)
THINGSPACE = ProviderSpec(
    name="Northwind Fleet (ThingSpace)",
    integration="thingspace",
    account_name="NORTHWIND-0001",
    billing_cycle_end_day=31,  # month end
    time_zone="America/Los_Angeles",
    optimization_start_hour=8,
    iccid_prefix="891480",
    msisdn_area="415",
    share=0.4,
    carrier_settings={"mdn_zip_code": "94103", "service_type": "M2M"},
)
PROVIDERS = (JASPER, THINGSPACE)

_LEGACY = tuple(
    PlanSpec(f"J-LEG-{i:02d}", f"{1.5 + i:.2f}", f"{4 * i}", "0.35", "1", "0.03", i % 2 == 0)
    for i in range(1, 8)
)

PLANS: dict[str, tuple[PlanSpec, ...]] = {
    JASPER.name: (
        PlanSpec("J-POOL-1MB", "0.90", "1", "0.50", "1", "0.02", True),
        PlanSpec("J-POOL-5MB", "1.75", "5", "0.40", "1", "0.02", True),
        PlanSpec("J-POOL-20MB", "4.00", "20", "0.25", "1", "0.02", True),
        PlanSpec("J-POOL-100MB", "9.50", "100", "0.15", "1", "0.02", True),
        PlanSpec("J-POOL-500MB", "28.00", "500", "0.08", "1", "0.02", True),
        PlanSpec("J-POOL-1GB", "45.00", "1024", "0.06", "1", "0.02", True),
        PlanSpec("J-IND-10MB", "2.50", "10", "3.00", "10", "0.03", False),
        PlanSpec("J-IND-50MB", "6.00", "50", "5.00", "50", "0.03", False),
        PlanSpec("J-IND-250MB", "14.00", "250", "10.00", "100", "0.03", False),
        PlanSpec("J-PAYG", "0.40", "0", "0.45", "1", "0.05", False),
        *_LEGACY,
    ),
    THINGSPACE.name: (
        PlanSpec("T-M2M-2MB", "1.20", "2", "0.60", "1", "0.02", True),
        PlanSpec("T-M2M-25MB", "3.50", "25", "0.30", "1", "0.02", True),
        PlanSpec("T-M2M-250MB", "12.00", "250", "0.12", "1", "0.02", True),
        PlanSpec("T-M2M-1GB-IND", "20.00", "1024", "10.00", "1024", "0.02", False),
        PlanSpec(
            "T-MOB-PH-2GB",
            "25.00",
            "2048",
            "10.00",
            "1024",
            "0.00",
            True,
            "Mobility",
            "PHONE",
        ),
        PlanSpec(
            "T-MOB-PH-10GB",
            "40.00",
            "10240",
            "10.00",
            "1024",
            "0.00",
            True,
            "Mobility",
            "PHONE",
        ),
        PlanSpec(
            "T-MOB-PH-5GB-IND",
            "30.00",
            "5120",
            "15.00",
            "1024",
            "0.00",
            False,
            "Mobility",
            "PHONE",
        ),
        PlanSpec(
            "T-MOB-TAB-1GB",
            "15.00",
            "1024",
            "10.00",
            "1024",
            "0.00",
            True,
            "Mobility",
            "TABLET",
        ),
        PlanSpec(
            "T-MOB-TAB-5GB",
            "25.00",
            "5120",
            "8.00",
            "1024",
            "0.00",
            True,
            "Mobility",
            "TABLET",
        ),
    ),
}

_J_POOLED = (
    "J-POOL-1MB",
    "J-POOL-5MB",
    "J-POOL-20MB",
    "J-POOL-100MB",
    "J-POOL-500MB",
    "J-POOL-1GB",
)
_J_IND = ("J-IND-10MB", "J-IND-50MB", "J-IND-250MB", "J-PAYG")

COMM_PLANS: dict[str, tuple[CommPlanSpec, ...]] = {
    JASPER.name: (
        CommPlanSpec("CP-CORE", (*_J_POOLED, "J-PAYG"), 0.45, 12.0, 6),
        CommPlanSpec(
            "CP-TRACKER",
            ("J-POOL-1MB", "J-POOL-5MB", "J-POOL-20MB", "J-IND-10MB", "J-PAYG"),
            0.30,
            2.5,
            10,
        ),
        CommPlanSpec(
            "CP-VIDEO",
            ("J-POOL-100MB", "J-POOL-500MB", "J-POOL-1GB", "J-IND-50MB", "J-IND-250MB"),
            0.15,
            180.0,
            2,
        ),
        CommPlanSpec(
            "CP-LEGACY",
            (*_J_POOLED, *_J_IND, *(p.plan_code for p in _LEGACY)),
            0.10,
            15.0,
            4,
        ),
    ),
    THINGSPACE.name: (
        CommPlanSpec(
            "TS-M2M",
            ("T-M2M-2MB", "T-M2M-25MB", "T-M2M-250MB", "T-M2M-1GB-IND"),
            0.70,
            18.0,
            5,
        ),
        CommPlanSpec(
            "TS-MOBILITY",
            (
                "T-MOB-PH-2GB",
                "T-MOB-PH-10GB",
                "T-MOB-PH-5GB-IND",
                "T-MOB-TAB-1GB",
                "T-MOB-TAB-5GB",
            ),
            0.30,
            1800.0,
            60,
            optimization_groups=(("PHONE", 0.7), ("TABLET", 0.3)),
        ),
    ),
}

CUSTOMER_COUNT = 12
CUSTOMER_RATE_PLANS = (
    # code, monthly charge, allowance MB, overage rate, overage unit MB, sms rate, pooled
    ("BASIC", "2.00", "5", "0.50", "1", "0.05", True),
    ("STANDARD", "6.00", "50", "0.30", "1", "0.05", True),
    ("PREMIUM", "20.00", "500", "0.20", "1", "0.05", True),
)


def customer_external_id(index: int) -> str:
    return f"CUST-{index + 1:03d}"


def customer_sites(index: int) -> tuple[str, ...]:
    return tuple(f"Site {chr(ord('A') + s)}" for s in range(1 + index % 3))


def customer_has_pool(index: int) -> bool:
    return index % 2 == 0
