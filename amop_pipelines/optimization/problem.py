"""The optimization problem in exact integer units, built once and shared by every method.

Units: money in 1/10,000 of the currency (rates such as 0.0125 are exact), data in micro-MB
(1e-6 MB, about a byte), days as whole days. A device's proration factor is
f = min(days_active, D) / D for a cycle of D days; `days` holds min(days_active, D).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

MONEY_SCALE = 10_000  # units per currency unit
MB_SCALE = 1_000_000  # micro-MB per MB

# The bounds every input is held to (a value outside is refused, FILE:ROW: field). Within them no
# int64 step of the cost engine can overflow: per device, the overage is at most
# 1,000,000 MB / 0.001 MB = 1e9 blocks at 10,000 (1e8 units) each, times D <= 31 days: 3.1e18 <
# 9.2e18; a pool's usage sum is at most 5,000,000 devices x 1e12 micro-MB = 5e18. Totals are summed
# as Python integers (no bound). Every bound also fits its AMOP column (NUMERIC(14,4) money,
# NUMERIC(18,6) megabytes).
MAX_CHARGE = Decimal(1_000_000)  # monthly_charge per device
MAX_RATE = Decimal(10_000)  # overage_rate per block, sms_rate per SMS
MAX_MB = Decimal(1_000_000)  # allowance_mb, overage_unit_mb, a device's usage_mb (1 TB a month)
MIN_UNIT_MB = Decimal("0.001")  # overage_unit_mb (1 KB blocks at the finest)
MAX_SMS = 10_000_000  # a device's sms_count
MAX_DEVICES = 5_000_000  # devices in one problem
MAX_CYCLE_DAYS = 31


@dataclass(frozen=True)
class PlanTable:
    codes: list[str]
    charge: np.ndarray  # int64, money units
    allowance: np.ndarray  # int64, micro-MB
    rate: np.ndarray  # int64, money units per overage block
    unit: np.ndarray  # int64, micro-MB per overage block (> 0)
    sms: np.ndarray  # int64, money units per SMS
    pooled: np.ndarray  # bool
    comm_plans: list[frozenset[str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # "" for no optimization group

    def __len__(self) -> int:
        return len(self.codes)

    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}


@dataclass(frozen=True)
class DeviceTable:
    iccids: list[str]
    usage: np.ndarray  # int64, micro-MB
    sms: np.ndarray  # int64
    days: np.ndarray  # int64, min(days_active, D)
    pool_key: np.ndarray  # int32 index into `keys`
    keys: list[str]  # "" is the account's shared pool
    option_set: np.ndarray  # int32 index into `option_sets`
    option_sets: np.ndarray  # bool (sets x plans): which plans each option set allows
    option_set_pairs: np.ndarray  # int (sets x 2): the (comm plan, group) of each option set
    comm_plan: np.ndarray  # int32 index into `comm_plans`
    comm_plans: list[str]
    group: np.ndarray  # int32 index into `groups`
    groups: list[str]  # "" for no optimization group
    current: np.ndarray  # int32 plan index, -1 where unknown

    def __len__(self) -> int:
        return len(self.iccids)

    def allowed(self) -> np.ndarray:
        """Devices x plans: which plan each device may take."""
        return self.option_sets[self.option_set]


@dataclass(frozen=True)
class Problem:
    devices: DeviceTable
    plans: PlanTable
    cycle_days: int

    def __post_init__(self) -> None:
        if self.cycle_days < 1:
            raise ValueError(f"cycle days must be at least 1, not {self.cycle_days}")

    def subset(self, rows: np.ndarray) -> Problem:
        """The problem restricted to some devices (same plans, keys and option sets)."""
        d = self.devices
        return Problem(
            DeviceTable(
                iccids=[d.iccids[i] for i in rows],
                usage=d.usage[rows],
                sms=d.sms[rows],
                days=d.days[rows],
                pool_key=d.pool_key[rows],
                keys=d.keys,
                option_set=d.option_set[rows],
                option_sets=d.option_sets,
                option_set_pairs=d.option_set_pairs,
                comm_plan=d.comm_plan[rows],
                comm_plans=d.comm_plans,
                group=d.group[rows],
                groups=d.groups,
                current=d.current[rows],
            ),
            self.plans,
            self.cycle_days,
        )


def allowed_option_sets(
    comm_plans: list[str], groups: list[str], pairs: np.ndarray, plans: PlanTable
) -> np.ndarray:
    """For each (comm plan, group) pair: plans listing the comm plan, of the device's group.

    Mobility devices (with an optimization group) may only take plans of that group; devices
    without one take plans without one.
    """
    sets = np.zeros((len(pairs), len(plans)), dtype=bool)
    for row, (comm, group) in enumerate(pairs):
        for p in range(len(plans)):
            sets[row, p] = comm_plans[comm] in plans.comm_plans[p] and plans.groups[p] == groups[group]
    return sets
