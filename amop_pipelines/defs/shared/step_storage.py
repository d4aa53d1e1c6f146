"""Where steps hand their outputs to each other: an IO manager on a UPath, so that the same code
writes to a local folder (the default: `steps/` in the AMOP data folder) or to an S3-compatible
object store (`AMOP_STEP_STORAGE=s3://bucket/prefix`, `AMOP_S3_ENDPOINT_URL` for MinIO and the
like; keys from the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables, read by s3fs).

Dagster's default IO manager pickles outputs to the run's local disk, which a Celery worker on
another host cannot read. Asset outputs are kept per asset and partition, so a later run (one
asset re-materialized from the UI) finds its inputs where the previous run left them.
"""

from __future__ import annotations

import pickle
from typing import Any

import dagster as dg
from upath import UPath

from amop_pipelines import settings
from amop_pipelines.settings import S3_ENDPOINT_URL_ENV, STEP_STORAGE_ENV


class PickledUPathIOManager(dg.UPathIOManager):
    extension = ".pickle"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        with path.open("wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        with path.open("rb") as handle:
            return pickle.load(handle)


class StepStorage(dg.ConfigurableIOManagerFactory):
    """A folder or an object store URL; `endpoint_url` names an S3-compatible store."""

    base: str
    endpoint_url: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> PickledUPathIOManager:
        if self.base.startswith("s3://"):
            options = {"client_kwargs": {"endpoint_url": self.endpoint_url}} if self.endpoint_url else {}
            return PickledUPathIOManager(base_path=UPath(self.base, **options))
        return PickledUPathIOManager(base_path=UPath(self.base))


def step_storage_from_env() -> StepStorage:
    base = settings.get(STEP_STORAGE_ENV) or str(settings.data_dir() / "steps")
    endpoint = dg.EnvVar(S3_ENDPOINT_URL_ENV) if settings.is_set(S3_ENDPOINT_URL_ENV) else None
    return StepStorage(base=base, endpoint_url=endpoint)


defs = dg.Definitions(resources={"io_manager": step_storage_from_env()})
