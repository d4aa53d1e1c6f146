"""Every table round-trips a row on SQLite and PostgreSQL, with exact money and aware datetimes."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from amop_pipelines.db.base import UtcDateTime
from amop_pipelines.db.models import Base

AT = datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=UTC)


def _value(table: sa.Table, column: sa.Column, serial: int):
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return AT
    if isinstance(kind, sa.Numeric):
        return Decimal("1234567." + "987654"[: kind.scale or 0])
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 17 + serial
    if isinstance(kind, sa.Date):
        return date(2026, 2, 28)
    if isinstance(kind, sa.JSON):
        return {"note": "ünïcode", "values": [1, 2.5, None]}
    if isinstance(kind, sa.String | sa.Text):
        length = getattr(kind, "length", None) or 200
        return f"{table.name[:6]}-{serial}-{'x' * length}"[:length]
    raise AssertionError(f"no sample value for {table.name}.{column.name}: {kind!r}")


def test_every_model_round_trips_a_row(engine):
    stored: dict[str, dict] = {}
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        for serial, table in enumerate(Base.metadata.sorted_tables):
            row = {}
            for column in table.columns:
                foreign = next(iter(column.foreign_keys), None)
                if foreign is not None:
                    row[column.name] = ids[foreign.column.table.name]
                elif column.primary_key and len(table.primary_key.columns) == 1:
                    continue
                else:
                    row[column.name] = _value(table, column, serial)
            result = connection.execute(table.insert().values(row))
            if "id" in table.columns:
                ids[table.name] = result.inserted_primary_key[0]
            stored[table.name] = row
    assert set(stored) == set(Base.metadata.tables)

    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            (found,) = connection.execute(sa.select(table)).mappings().all()
            for name, expected in stored[table.name].items():
                assert found[name] == expected, f"{table.name}.{name}"
            for name, value in found.items():
                if isinstance(value, datetime):
                    assert value.tzinfo is not None, f"{table.name}.{name} came back naive"


def test_naive_datetimes_are_refused(engine):
    table = Base.metadata.tables["audit_log"]
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as connection:
        connection.execute(
            table.insert().values(
                at=datetime(2026, 1, 1), actor="a", entity_type="t", entity_id="1", action="x"
            )
        )
