"""Runs of the code location's own jobs, started by a command (`amop demo`) in this process.

`materialize` and `execute_in_process` record runs of an ephemeral job without a code location: the
UI lists them under no job and refuses to re-execute them (it re-launches a run from the code
location its origin names). These runs carry the origin `workspace.yaml` loads the code location
from, so the UI treats them as its own: listed under their job, re-executable, checks included.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from amop_pipelines.instance import PROJECT_ROOT

LOCATION = "amop_pipelines.definitions"  # workspace.yaml's python_module: the location's name
REPOSITORY = "__repository__"  # the name Dagster gives a module's one Definitions
REPOSITORY_LABEL_TAG = ".dagster/repository"  # how the UI files a run under its job


def code_location_job(name: str, resources: Mapping[str, Any]) -> dg.JobDefinition:
    """The code location's job `name` with its assets' checks, on these resources, its steps in
    this process (a job built here cannot be rebuilt in another; a re-execution from the UI runs
    with the code location's own executor)."""
    from amop_pipelines.definitions import defs

    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={**(defs.resources or {}), **resources},
        executor=dg.in_process_executor,
    ).resolve_job_def(name)


def _origin(job_name: str) -> RemoteJobOrigin:
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=LOCATION, working_directory=str(PROJECT_ROOT)
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(loadable_target_origin=target, location_name=LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY), job_name)


def run_in_code_location(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    partition_key: str | None,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> dg.DagsterRun:
    """Run `job` (for one partition, when it is partitioned) here and now, recorded as the code
    location's run; the finished run (its status says whether it succeeded)."""
    partition_tags: Mapping[str, str] = {}
    if partition_key is not None:
        with partition_loading_context(dynamic_partitions_store=instance):
            partition_tags = job.get_tags_for_partition_key(partition_key, selected_asset_keys=None)
    plan = create_execution_plan(InMemoryJob(job), run_config=run_config, instance_ref=instance.get_ref())
    run = instance.create_run_for_job(
        job_def=job,
        execution_plan=plan,
        run_config=run_config,
        tags={**job.run_tags, **partition_tags, **tags, REPOSITORY_LABEL_TAG: f"{REPOSITORY}@{LOCATION}"},
        remote_job_origin=_origin(job.name),
    )
    execute_run(InMemoryJob(job), run, instance)
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    return finished
