"""Where the steps of a run execute: Dagster's multiprocess executor on one machine by default;
with AMOP_EXECUTOR=celery, Celery workers (dagster-celery) fed through RabbitMQ, results in Redis.
Workers need the same Dagster instance (PostgreSQL storage: DAGSTER_PG_URL), the same AMOP
database and this package installed; deploy/celery/ shows how to start them."""

import dagster as dg

from amop_pipelines import settings
from amop_pipelines.defs.shared.carriers import CARRIER_CALLS


def _executor() -> dg.ExecutorDefinition:
    if settings.get("AMOP_EXECUTOR") != "celery":
        # a run's steps in processes, those calling the carrier one at a time (they share the
        # account's rate limit); the others side by side
        return dg.multiprocess_executor.configured(
            {"tag_concurrency_limits": [{"key": key, "limit": 1} for key in CARRIER_CALLS]}
        )
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {"broker": settings.get("AMOP_CELERY_BROKER"), "backend": settings.get("AMOP_CELERY_BACKEND")}
    )


defs = dg.Definitions(executor=_executor())
