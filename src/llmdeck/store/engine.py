"""The Store: one SQLAlchemy engine (SQLite or PostgreSQL) behind a narrow, async-friendly door."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from llmdeck.store.migrations import migrate

T = TypeVar("T")


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def normalise_url(url: str) -> str:
    """Accept the URLs people paste: postgres://, postgresql:// (psycopg 3 is the driver)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Store:
    """A database: SQLite (a file, WAL) or PostgreSQL, with the same tables and queries.

    Work runs on a small thread pool; on SQLite one lock serialises writers, so readers never
    wait on a writer (WAL) and writers never see SQLITE_BUSY from each other.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llmdeck-store")

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in a connection (blocking)."""
        with self.engine.connect() as conn:
            return fn(conn)

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in a transaction (blocking); committed when it returns."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                return fn(conn)
        with self._write_lock, self.engine.begin() as conn:
            return fn(conn)

    async def aread(self, fn: Callable[[Connection], T]) -> T:
        """`read` on the store's thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.read, fn)

    async def awrite(self, fn: Callable[[Connection], T]) -> T:
        """`write` on the store's thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.write, fn)

    def insert_ignore(self, table: Table) -> Insert:
        """INSERT that skips rows whose primary key exists, on either engine."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement: Insert = dialect.insert(table).on_conflict_do_nothing()
        return statement

    def upsert(self, table: Table, keys: list[str], update: list[str]) -> Insert:
        """INSERT ... ON CONFLICT (keys) DO UPDATE SET the `update` columns, on either engine."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        stmt = dialect.insert(table)
        statement: Insert = stmt.on_conflict_do_update(
            index_elements=keys, set_={name: stmt.excluded[name] for name in update}
        )
        return statement

    def migrate(self) -> list[str]:
        """Bring the schema up to date; returns the migrations applied."""
        return migrate(self.engine)

    def close(self) -> None:
        """Release connections and threads."""
        self._pool.shutdown(wait=True)
        self.engine.dispose()


def open_store(url: str, *, run_migrations: bool = True) -> Store:
    """Open (and by default migrate) the database at `url`."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_size=8,
            max_overflow=8,
            pool_pre_ping=True,
        )
    store = Store(engine)
    if run_migrations:
        store.migrate()
    return store


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    _wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Trace ingest writes to random-key indexes: a 64 MB page cache and checkpointing every
    # ~40 MB of WAL (instead of 4 MB) roughly double its sustained rate (bench/observe.py).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _wal(cursor: Any, attempts: int = 500) -> None:
    """Switch to WAL. Switching a new file takes an exclusive lock that SQLite does not wait
    for (no busy handler): a connection opened at that moment by another thread or process is
    told "database is locked" at once. Try again for up to about five seconds."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)
