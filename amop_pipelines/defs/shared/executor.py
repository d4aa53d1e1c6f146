"""Where the steps of a run execute: Dagster's multiprocess executor on one machine by default;
with AMOP_EXECUTOR=celery, Celery workers (dagster-celery) fed through RabbitMQ, results in Redis.
Workers need the same Dagster instance (PostgreSQL storage: DAGSTER_PG_URL), the same AMOP
database and this package installed; deploy/celery/ shows how to start them."""

import os

import dagster as dg

BROKER_ENV, BACKEND_ENV = "AMOP_CELERY_BROKER", "AMOP_CELERY_BACKEND"
DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/0"


def _executor() -> dg.ExecutorDefinition | None:
    if os.environ.get("AMOP_EXECUTOR", "multiprocess") != "celery":
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {
            "broker": os.environ.get(BROKER_ENV, DEFAULT_BROKER),
            "backend": os.environ.get(BACKEND_ENV, DEFAULT_BACKEND),
        }
    )


defs = dg.Definitions(executor=_executor())
