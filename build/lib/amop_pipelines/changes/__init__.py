"""Bulk device changes: the six change types, their validation, requests, approvals and audit.

No Dagster here: `amop changes` and the change jobs in `defs/changes/` call into this package.
"""
