"""The embedded engine's durable part: one SQLite file per collection version holding each
item's id, original text, metadata and float32 vector, and an FTS5 index for BM25 keyword search.

SQLite is the source of truth. The in-memory matrix, metadata columns and ANN index are rebuilt
or caught up from it on open, so a crash between a commit and an index save loses nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from llmdeck.vectors.types import Metadata, Record, Vector

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL,
    metadata BLOB NOT NULL, vector BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    text, content='items', content_rowid='pos', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS items_ai AFTER INSERT ON items BEGIN
    INSERT INTO fts(rowid, text) VALUES (new.pos, new.text); END;
CREATE TRIGGER IF NOT EXISTS items_ad AFTER DELETE ON items BEGIN
    INSERT INTO fts(fts, rowid, text) VALUES ('delete', old.pos, old.text); END;
"""
_WORD = re.compile(r"\w+", re.UNICODE)
_CHUNK = 500  # ids per IN (...) clause


def match_expression(text: str) -> str | None:
    """An FTS5 query matching any word of `text` (quoted, so punctuation cannot break it)."""
    words = _WORD.findall(text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) or None


class SqliteItems:
    """Items of one collection version in `path` (WAL; one writer at a time, by the caller)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.writer = self._connect()
        self.writer.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def reader(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def replace(
        self,
        positions: Sequence[int],
        ids: Sequence[str],
        vectors: Vector,
        texts: Sequence[str],
        metadata: Sequence[Metadata],
    ) -> None:
        """Delete any items with these ids and insert the new rows, in one transaction."""
        rows = [
            (pos, ident, text, orjson.dumps(meta), vec.tobytes())
            for pos, ident, text, meta, vec in zip(
                positions, ids, texts, metadata, vectors, strict=True
            )
        ]
        with _transaction(self.writer) as conn:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM items WHERE id IN ({marks})", chunk)
            conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", rows)

    def delete(self, ids: Sequence[str]) -> list[int]:
        """Delete by id; the positions that existed."""
        gone: list[int] = []
        with _transaction(self.writer) as conn:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"DELETE FROM items WHERE id IN ({marks}) RETURNING pos"
                gone.extend(row[0] for row in conn.execute(sql, chunk).fetchall())
        return gone

    def all_rows(self, after_pos: int = -1) -> Iterator[tuple[int, str, Metadata, bytes]]:
        """(pos, id, metadata, vector bytes) of every item past `after_pos`, in pos order."""
        sql = "SELECT pos, id, metadata, vector FROM items WHERE pos > ? ORDER BY pos"
        for pos, ident, meta, vec in self.writer.execute(sql, (after_pos,)):
            yield pos, ident, orjson.loads(meta), vec

    def positions(self) -> set[int]:
        """Every live position."""
        return {row[0] for row in self.writer.execute("SELECT pos FROM items")}

    def get(self, ids: Sequence[str], dim: int, vectors: bool) -> dict[str, Record]:
        """Records by id."""
        out: dict[str, Record] = {}
        column = "vector" if vectors else "NULL"
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, text, metadata, {column} FROM items WHERE id IN ({marks})"
            for ident, text, meta, vec in self.reader.execute(sql, chunk):
                array = None if vec is None else np.frombuffer(vec, dtype=np.float32, count=dim)
                out[ident] = Record(ident, text, orjson.loads(meta), array)
        return out

    def scan(self, after: str, limit: int) -> list[Record]:
        """Items with id > after, in id order."""
        sql = "SELECT id, text, metadata FROM items WHERE id > ? ORDER BY id LIMIT ?"
        rows = self.reader.execute(sql, (after, limit)).fetchall()
        return [Record(ident, text, orjson.loads(meta)) for ident, text, meta in rows]

    def keyword(self, text: str, limit: int, offset: int) -> list[tuple[int, float]]:
        """(pos, BM25 score, higher is better) of the best matches."""
        expression = match_expression(text)
        if expression is None:
            return []
        sql = (
            "SELECT rowid, -bm25(fts) FROM fts WHERE fts MATCH ? "
            "ORDER BY bm25(fts) LIMIT ? OFFSET ?"
        )
        rows = self.reader.execute(sql, (expression, limit, offset)).fetchall()
        return [(int(pos), float(score)) for pos, score in rows]

    def compact(self) -> None:
        """Merge the FTS index's segments and give free pages back to the file system."""
        self.writer.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        self.writer.execute("VACUUM")

    def close(self) -> None:
        """Close every connection."""
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self.writer.close()


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
