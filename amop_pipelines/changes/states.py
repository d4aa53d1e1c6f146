"""The states of change items and requests that are final, named once for everything that asks."""

TERMINAL = ("completed", "failed", "dead", "cancelled")  # item states: nothing more will happen
FINISHED = ("completed", "completed_with_errors", "cancelled")  # request states
ITEM_FAILURES = ("failed", "dead")  # item states that end a request with errors
