"""The pure cost engine: exact pool costs, the seeds' legacy heuristic and the exact optimizer.

No Dagster and no database here: everything takes a `Problem` (numpy arrays) and returns
assignments and exact costs, so the engine is tested and benchmarked on its own.
"""
