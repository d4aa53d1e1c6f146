"""The carriers' status vocabularies and the transitions they allow (as CARRIERS.md reads them),
and how AMOP's four statuses (Active, Inactive, Suspended, Pending) are said to each. Pre-flight
validation refuses what the carrier would. The simulator keeps its own reading on purpose: the
two share no code, so a misreading in one shows up as a failing test against the other."""

from __future__ import annotations

JASPER_STATUSES = (
    "ACTIVATED",
    "DEACTIVATED",
    "TEST_READY",
    "ACTIVATION_READY",
    "INVENTORY",
    "RETIRED",
    "PURGED",
    "REPLACED",
)
# Jasper status changes: from -> to
JASPER_TRANSITIONS = {
    "INVENTORY": {"TEST_READY", "ACTIVATION_READY", "ACTIVATED", "RETIRED"},
    "TEST_READY": {"ACTIVATION_READY", "ACTIVATED", "INVENTORY", "RETIRED"},
    "ACTIVATION_READY": {"ACTIVATED", "DEACTIVATED", "RETIRED"},
    "ACTIVATED": {"DEACTIVATED", "RETIRED"},
    "DEACTIVATED": {"ACTIVATED", "RETIRED"},
    "RETIRED": {"PURGED"},
    "PURGED": set(),
    "REPLACED": set(),
}
# ThingSpace actions: action -> (states it applies to, resulting state)
THINGSPACE_ACTIONS = {
    "activate": ({"pending activation", "deactive"}, "active"),
    "suspend": ({"active"}, "suspend"),
    "restore": ({"suspend"}, "active"),
    "deactivate": ({"active", "suspend"}, "deactive"),
}

# AMOP statuses as each carrier says them; a status missing here does not exist at that carrier
# (Jasper has no suspension; ThingSpace reaches no pending state by an action).
CARRIER_STATUS = {
    "jasper": {"Active": "ACTIVATED", "Inactive": "DEACTIVATED", "Pending": "ACTIVATION_READY"},
    "thingspace": {"Active": "active", "Inactive": "deactive", "Suspended": "suspend"},
}
# a SIM in one of these states, on no customer, may become another device's new SIM
SPARE_STATUSES = {"deactive", "DEACTIVATED", "INVENTORY"}


def thingspace_action(current: str, target: str) -> str | None:
    """The action taking a ThingSpace device from `current` to `target`, if one does."""
    for action, (sources, result) in THINGSPACE_ACTIONS.items():
        if result == target and current in sources:
            return action
    return None


def transition_problem(integration: str, current: str, amop_status: str) -> str | None:
    """Why the carrier would refuse to move a device from `current` to `amop_status`, or None."""
    target = CARRIER_STATUS.get(integration, {}).get(amop_status)
    if target is None:
        return f"the carrier ({integration}) has no '{amop_status}' status"
    if current == target:
        return f"the device is already {amop_status} ({current})"
    allowed = (
        target in JASPER_TRANSITIONS.get(current, set())
        if integration == "jasper"
        else thingspace_action(current, target) is not None
    )
    return None if allowed else f"the carrier does not move a device from {current} to {amop_status}"
