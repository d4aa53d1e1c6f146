"""Bulk inserts: COPY on PostgreSQL, executemany on SQLite, the same rows stored either way."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from amop_pipelines.db.base import Megabytes, UtcDateTime
from amop_pipelines.db.bulk import insert_rows

PROBE = sa.Table(
    "bulk_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(200), nullable=False),
    sa.Column("megabytes", Megabytes, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("note", sa.String(20), nullable=True),
)


@pytest.fixture
def probe(engine):
    PROBE.create(engine)
    yield engine
    PROBE.drop(engine)


def test_bulk_inserts_store_every_row_exactly_and_only_with_the_callers_transaction(probe):
    """Exact decimals (to the byte, within the largest usage allowed), text COPY reads specially
    (tab, backslash, newline, \\N) and NULLs come back as written; a transaction that fails after
    the insert keeps none of it."""
    rows = [
        {
            "text": "tab\there \\N back\\slash\nnew line" if i == 1 else f"row {i}",
            "megabytes": Decimal("999999.999999") if i == 2 else Decimal(i) / 7 + Decimal("0.000001"),
            "at": datetime(2026, 12, 2, 8, i % 60, tzinfo=UTC),
            "note": None if i % 2 else "even",
        }
        for i in range(2500)
    ]
    rows = [{**row, "megabytes": row["megabytes"].quantize(Decimal("0.000001"))} for row in rows]
    with probe.begin() as connection:
        insert_rows(connection, PROBE, rows)
    columns = [PROBE.c.text, PROBE.c.megabytes, PROBE.c.at, PROBE.c.note]
    with probe.connect() as connection:
        stored = [row._asdict() for row in connection.execute(sa.select(*columns).order_by(PROBE.c.id))]
    assert stored == rows

    with pytest.raises(RuntimeError), probe.begin() as connection:
        insert_rows(connection, PROBE, [{**rows[0], "text": "rolled back"}])
        raise RuntimeError("a later step of the transaction fails")
    with probe.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).where(PROBE.c.text == "rolled back")) == 0


def test_a_frame_goes_in_as_its_rows_would_exactly_and_only_with_the_callers_transaction(probe):
    """insert_frame, the column-wise path of the month's million result rows: the same values as
    insert_rows stores (decimals to the last digit, empty text apart from NULL), on both databases,
    and nothing kept when the caller's transaction fails."""
    import polars as pl

    from amop_pipelines.db.bulk import insert_frame

    table = sa.Table(
        "frame_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.Integer, nullable=True),
        sa.Column("megabytes", Megabytes, nullable=True),
        sa.Column("text", sa.String(50), nullable=True),
    )
    table.create(probe)
    values = [Decimal("999999.999999"), Decimal("0.000001"), None, Decimal("12.5")] * 30_000
    frame = pl.DataFrame(
        {
            "number": [None if i % 5 == 0 else i for i in range(len(values))],
            "megabytes": pl.Series(values, dtype=pl.Decimal(18, 6)),
            "text": ["", None, 'quote " and, comma', "line\nbreak"] * 30_000,
        }
    )
    try:
        with probe.begin() as connection:
            insert_frame(connection, table, frame)
        with probe.connect() as connection:
            stored = connection.execute(
                sa.select(table.c.number, table.c.megabytes, table.c.text).order_by(table.c.id)
            ).all()
        assert [tuple(row) for row in stored] == frame.rows()

        with pytest.raises(RuntimeError), probe.begin() as connection:
            insert_frame(connection, table, frame.head(3))
            raise RuntimeError("a later step of the transaction fails")
        with probe.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(table)) == len(values)
        with pytest.raises(TypeError, match="column at"), probe.begin() as connection:
            insert_frame(connection, table, pl.DataFrame({"at": [datetime(2026, 12, 2, tzinfo=UTC)]}))
    finally:
        table.drop(probe)
