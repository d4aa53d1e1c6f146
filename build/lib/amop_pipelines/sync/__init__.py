"""Device and usage sync: staging, the upsert into the device table, usage per billing period.

What the seeds' staging tables and `usp_Update_Jasper_Device` did, without Dagster: the
assets in `defs/sync/assets.py` call these functions.
"""
