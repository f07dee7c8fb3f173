"""Bulk statements compiled once and run through the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert; the recorder's
statements are compiled once per engine and their rows handed to the driver as plain tuples
(SQLite) or dicts (PostgreSQL), with JSON columns already serialised by orjson.
"""

from __future__ import annotations

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

    def __init__(self, store: Store, statement: Insert, columns: list[str]) -> None:
        compiled = statement.compile(dialect=store.engine.dialect, column_keys=columns)
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = None
        if compiled.positional:
            self.order = tuple(compiled.positiontup or ())

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute the statement for every row (dicts keyed by column name)."""
        if not rows:
            return
        if self.order is None:
            conn.exec_driver_sql(self.sql, rows)
            return
        order = self.order
        conn.exec_driver_sql(self.sql, [tuple(row[k] for k in order) for row in rows])
