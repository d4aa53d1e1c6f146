"""Where the steps of a run execute: Dagster's multiprocess executor on one machine by default;
with AMOP_EXECUTOR=celery, Celery workers (dagster-celery) fed through RabbitMQ, results in Redis.
Workers need the same Dagster instance (PostgreSQL storage: DAGSTER_PG_URL), the same AMOP
database and this package installed; deploy/celery/ shows how to start them."""

import dagster as dg

from amop_pipelines import settings


def _executor() -> dg.ExecutorDefinition | None:
    if settings.get("AMOP_EXECUTOR") != "celery":
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {"broker": settings.get("AMOP_CELERY_BROKER"), "backend": settings.get("AMOP_CELERY_BACKEND")}
    )


defs = dg.Definitions(executor=_executor())
