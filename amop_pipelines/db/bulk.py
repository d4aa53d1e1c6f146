"""Bulk work within the databases' limits: writes that are safe to repeat (rows whose natural key
exists already are left alone) and IN lists cut to a size every driver takes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")


def insert_ignoring_existing(
    connection: Connection,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    key_columns: Sequence[str],
    chunk_size: int = 20_000,
) -> None:
    """INSERT ... ON CONFLICT (key) DO NOTHING, in chunks, on SQLite and PostgreSQL alike."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key_columns))
    elif dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key_columns))
    else:  # pragma: no cover - the project supports these two databases
        raise NotImplementedError(f"bulk insert is not implemented for {dialect}")
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_size:
            connection.execute(statement, chunk)
            chunk = []
    if chunk:
        connection.execute(statement, chunk)


IN_LIST_SIZE = 5_000  # within every database's bound-parameter limit (PostgreSQL: 65,535)


def in_chunks(values: Iterable[T], size: int = IN_LIST_SIZE) -> Iterator[list[T]]:
    """The values in lists small enough for one `IN (...)`: a query over a whole file's devices
    runs as several, never as one statement past the driver's limit."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Plain inserts of many rows in the caller's transaction: on PostgreSQL through psycopg's
    COPY (one stream instead of batched statements), elsewhere as one executemany. Every row has
    the same keys, the table's columns to fill."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        raw = connection.connection.driver_connection
        columns = list(rows[0])
        names = ", ".join(f'"{name}"' for name in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
        return
    connection.execute(table.insert(), list(rows))


FRAME_CHUNK = 100_000  # rows of a frame sent at a time


def insert_frame(connection: Connection, table: Table, frame: pl.DataFrame) -> None:
    """`insert_rows` for a million rows held as columns (integers, decimals, floats, text; nulls
    where the column allows them), without a Python object per value: on PostgreSQL the frame
    streams as CSV into COPY (text quoted, so that an empty text is not a NULL); on SQLite the
    driver inserts plain tuples (decimals as floats, as SQLAlchemy binds them there)."""
    if frame.is_empty():
        return
    for name, dtype in frame.schema.items():
        if not (dtype.is_numeric() or dtype == pl.String):
            raise TypeError(f"insert_frame: column {name} is {dtype}, not a number or text")
    names = ", ".join(f'"{name}"' for name in frame.columns)
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        raw = connection.connection.driver_connection
        statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in frame.iter_slices(FRAME_CHUNK):
                copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric"))
        return
    floats = frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
    marks = ", ".join("?" for _ in frame.columns)
    # the names are the table's own columns (a frame with another name fails on insert)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # noqa: S608
    for chunk in floats.iter_slices(FRAME_CHUNK):
        connection.exec_driver_sql(statement, chunk.rows())
