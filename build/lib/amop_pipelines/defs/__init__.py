"""Dagster definitions only: each module exposes `defs`, merged once in `amop_pipelines.definitions`."""
