"""The AMOP database as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from amop_pipelines.db.engine import make_engine
from amop_pipelines.settings import DATABASE_URL_ENV, database_url, is_set


class AmopDatabase(dg.ConfigurableResource):
    """The AMOP database: `url` when given, else the embedded SQLite file of the data folder."""

    url: str | None = None
    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def resolved_url(self) -> str:
        return self.url or database_url()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.resolved_url)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()


def database_from_env() -> AmopDatabase:
    """`AMOP_DATABASE_URL` as an EnvVar (never shown in the UI) when set, else the embedded file."""
    if is_set(DATABASE_URL_ENV):
        return AmopDatabase(url=dg.EnvVar(DATABASE_URL_ENV))
    return AmopDatabase()


defs = dg.Definitions(resources={"amop_db": database_from_env()})
