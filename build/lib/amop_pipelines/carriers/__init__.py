"""httpx clients for the carriers (Jasper, ThingSpace) behind one interface and one retry policy.

No Dagster here; `defs/shared/carriers.py` wraps them with secrets from the environment.
"""
