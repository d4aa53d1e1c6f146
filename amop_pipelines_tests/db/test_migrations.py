from datetime import UTC, date, datetime

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


def test_stored_periods_move_to_the_inclusive_end_day_and_back(any_database_url):
    """Periods stored under the old rule (the end day opened the next period) are recomputed by
    migration 0012 to what billing.py now says, and restored by its downgrade."""
    from amop_pipelines.billing import period_for_month
    from amop_pipelines.db.models import BillingPeriod, ServiceProvider

    migrate.upgrade(any_database_url, "0011")
    engine = make_engine(any_database_url)
    old = {  # Chicago, cycle end day 18: the old rule's February period, Jan 18 to Feb 18 00:00
        "start_date": date(2027, 1, 18),
        "end_date": date(2027, 2, 18),
        "starts_at": datetime(2027, 1, 18, 6, tzinfo=UTC),
        "ends_at": datetime(2027, 2, 18, 6, tzinfo=UTC),
    }
    try:
        with engine.begin() as connection:
            provider_id = connection.execute(
                sa.insert(ServiceProvider.__table__)
                .values(
                    name="Acme",
                    integration="jasper",
                    account_name="A",
                    base_url="http://x",
                    billing_cycle_end_day=18,
                    billing_cycle_end_hour=0,
                    time_zone="America/Chicago",
                    optimization_start_hour=6,
                    rate_limit_per_second=5,
                    auto_update_rate_plans=False,
                    is_active=True,
                    carrier_settings={},
                )
                .returning(ServiceProvider.__table__.c.id)
            ).scalar_one()
            connection.execute(
                sa.insert(BillingPeriod.__table__).values(
                    service_provider_id=provider_id,
                    billing_month="2027-02",
                    time_zone="America/Chicago",
                    **old,
                )
            )

        def stored() -> dict:
            with engine.connect() as connection:
                row = connection.execute(sa.select(*(getattr(BillingPeriod, k) for k in old))).one()
            return row._asdict()

        migrate.upgrade(any_database_url)
        now = period_for_month("2027-02", 18, 0, "America/Chicago")
        assert stored() == {k: getattr(now, k) for k in old}
        assert stored()["start_date"] == date(2027, 1, 19)
        migrate.downgrade(any_database_url, "0011")
        assert stored() == old
    finally:
        engine.dispose()
