"""Numbered, forward-only migrations, recorded in `llmdeck_migrations`.

Each module `mNNN_name.py` defines `up(conn)`. They run in order, once, under a lock
(a PostgreSQL advisory lock, or SQLite's write lock), so replicas starting together are safe.

Migrations build the tables declared in `store.tables` through the idempotent helpers below
(`create_tables`, `add_columns`), so a later migration that adds a column still applies after an
earlier one created the table from the current declaration.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from types import ModuleType

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateColumn

_registry = MetaData()
applied = Table(
    "llmdeck_migrations",
    _registry,
    Column("name", String(200), primary_key=True),
    Column("applied_at", Float, nullable=False),
)

_ADVISORY_LOCK = 7_466_353_201  # any constant shared by every llmdeck process


def all_migrations() -> list[tuple[str, Callable[[Connection], None]]]:
    """Every migration in order, as (name, up)."""
    found: list[tuple[str, ModuleType]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:4].isdigit():
            found.append((info.name, importlib.import_module(f"{__name__}.{info.name}")))
    return [(name, module.up) for name, module in sorted(found)]


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations this database lacks; returns their names."""
    done: list[str] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        else:
            # Take SQLite's write lock now, so a second process waits instead of racing.
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS llmdeck_lock (x INTEGER)")
            conn.exec_driver_sql("DELETE FROM llmdeck_lock")
        _registry.create_all(conn, checkfirst=True)
        have = set(conn.execute(select(applied.c.name)).scalars())
        for name, up in all_migrations():
            if name in have:
                continue
            up(conn)
            conn.execute(applied.insert().values(name=name, applied_at=time.time()))
            done.append(name)
    return done


def create_tables(conn: Connection, *tables: Table) -> None:
    """Create each table (and its indexes) unless it exists."""
    for table in tables:
        table.create(conn, checkfirst=True)


def add_columns(conn: Connection, table: Table, *names: str) -> None:
    """Add the named columns, as declared on `table`, where the database lacks them."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in have:
            column = CreateColumn(table.c[name]).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column}")
