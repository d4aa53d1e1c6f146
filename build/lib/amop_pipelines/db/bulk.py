"""Bulk writes that are safe to repeat: rows whose natural key exists already are left alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


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
