"""The AMOP database: SQLAlchemy 2 models, engine and session helpers, Alembic migrations.

No Dagster here: the `defs` layer reaches the database through `engine.make_engine`.
"""
