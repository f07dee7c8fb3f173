"""Bulk statements compiled once and run through the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert; the recorder's
statements are compiled once per engine and their rows handed to the driver as plain tuples
(SQLite) or dicts (PostgreSQL), with JSON columns already serialised by orjson.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Insert

from llmdeck.store import Store


def dumps(value: Any) -> str | None:
    """A JSON column's value as text (None stays SQL NULL)."""
    if value is None:
        return None
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class Bulk:
    """One INSERT (or upsert) statement for many rows at a time."""

    def __init__(self, store: Store, statement: Insert, columns: Sequence[str]) -> None:
        dialect = store.engine.dialect
        if not dialect.positional:  # psycopg takes %s too: compile for tuples on every engine
            dialect = type(dialect)(paramstyle="format")  # type: ignore[call-arg]
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup or ())
        self.in_order = self.order == tuple(columns)

    def run(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Execute the statement for every row (dicts keyed by column name)."""
        if rows:
            order = self.order
            self.run_tuples(conn, [tuple(row[k] for k in order) for row in rows])

    def run_tuples(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Execute the statement for rows already in the statement's column order."""
        if rows:
            conn.exec_driver_sql(self.sql, list(rows))
