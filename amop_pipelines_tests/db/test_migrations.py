import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import Base


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_to_base_and_upgrade_again(any_database_url):
    migrate.upgrade(any_database_url)
    assert migrate.current_revision(any_database_url) is not None
    assert _tables(any_database_url) == set(Base.metadata.tables)

    migrate.downgrade(any_database_url, "base")
    assert migrate.current_revision(any_database_url) is None
    assert _tables(any_database_url) == set()

    migrate.upgrade(any_database_url)
    assert _tables(any_database_url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(migrated_url):
    """A model changed without a migration shows up here as a schema difference."""
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
