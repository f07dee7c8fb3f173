"""The pgvector backend: one table per collection version in any PostgreSQL with the `vector`
extension (0.8 for iterative index scans under filters).

    id text primary key, embedding vector(dim), text, metadata jsonb, tsv tsvector (generated)

ANN indexes are HNSW (m, ef_construction; hnsw.ef_search) or IVFFlat (lists; ivfflat.probes).
Filtered searches turn on `hnsw.iterative_scan` so a selective filter still returns k rows;
PostgreSQL's planner picks the metadata GIN index and an exact sort when that is cheaper.
Keyword search is PostgreSQL full text (`ts_rank_cd` over an English `tsvector`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import orjson
import psycopg

from llmdeck.config import IndexSettings, Metric
from llmdeck.vectors.backends.base import Scored
from llmdeck.vectors.backends.pgsql import filter_sql, tsquery_text
from llmdeck.vectors.filters import Filter
from llmdeck.vectors.types import Metadata, Record, Vector

# operator, operator class, and how a distance becomes a higher-is-better score
_METRICS = {
    "cosine": ("<=>", "vector_cosine_ops", "1 - ({d})"),
    "dot": ("<#>", "vector_ip_ops", "-({d})"),
    "l2": ("<->", "vector_l2_ops", "-({d})"),
}


EXACT_ROWS = 2000  # a filter keeping fewer rows is answered by an exact scan
_EXTENSION_LOCK = 7_466_353_202  # serialises CREATE EXTENSION between processes


def ensure_extension(conn: psycopg.Connection[Any]) -> None:
    """CREATE EXTENSION vector unless it is there (under a lock: two sessions creating it at
    once would otherwise collide on the catalogue's unique index)."""
    with conn.transaction():
        found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if found is None:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_EXTENSION_LOCK,))
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def vector_text(vector: Vector) -> str:
    """pgvector's text form."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class Pool:
    """A few psycopg connections shared by threads (one per operation at a time)."""

    def __init__(self, url: str, size: int = 4) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._size = size
        self._made = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in a transaction, committed on success."""
        conn = self._take()
        try:
            with conn.transaction():
                yield conn
        except psycopg.OperationalError:
            conn.close()
            with self._lock:
                self._made -= 1
            raise
        self._idle.put(conn)

    def _take(self) -> psycopg.Connection[Any]:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._made < self._size
            if grow:
                self._made += 1
        if not grow:
            return self._idle.get()
        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error:
            with self._lock:
                self._made -= 1
            raise

    def close(self) -> None:
        """Close the idle connections."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class PgvectorIndex:
    """One collection version as a PostgreSQL table."""

    def __init__(
        self, pool: Pool, table: str, dim: int, metric: Metric, settings: IndexSettings
    ) -> None:
        self.pool, self.table, self.dim, self.metric, self.settings = (
            pool,
            table,
            dim,
            metric,
            settings,
        )
        self.op, self.opclass, self.score = _METRICS[metric]
        with self.pool.connection() as conn:
            ensure_extension(conn)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (id text PRIMARY KEY, "
                f"embedding vector({dim}) NOT NULL, text text NOT NULL, "
                "metadata jsonb NOT NULL, tsv tsvector GENERATED ALWAYS AS "
                "(to_tsvector('english', text)) STORED)"
            )
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_meta ON {table} "
                "USING gin (metadata jsonb_path_ops)"
            )
        if settings.type != "flat" and not self._has_ann():
            self._create_ann(settings)

    # -- writes --------------------------------------------------------------------------------

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vector,
        texts: Sequence[str],
        metadata: Sequence[Metadata],
    ) -> None:
        """INSERT ... ON CONFLICT (id) DO UPDATE, one transaction."""
        rows = [
            (i, vector_text(v), t, orjson.dumps(m).decode())
            for i, v, t, m in zip(ids, vectors, texts, metadata, strict=True)
        ]
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (id, embedding, text, metadata) "
                "VALUES (%s, %s::vector, %s, %s::jsonb) ON CONFLICT (id) DO UPDATE SET "
                "embedding = excluded.embedding, text = excluded.text, "
                "metadata = excluded.metadata",
                rows,
            )

    def delete(self, ids: Sequence[str]) -> int:
        """DELETE by id."""
        with self.pool.connection() as conn:
            cur = conn.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (list(ids),))
            return cur.rowcount

    # -- reads ---------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], *, vectors: bool = False) -> list[Record]:
        """Stored items among `ids`, in the order asked."""
        column = "embedding::text" if vectors else "NULL"
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT id, text, metadata, {column} FROM {self.table} WHERE id = ANY(%s)",
                (list(ids),),
            ).fetchall()
        found = {r[0]: Record(r[0], r[1], r[2], _parse(r[3])) for r in rows}
        return [found[i] for i in ids if i in found]

    def scan(self, after: str, limit: int) -> list[Record]:
        """Items after `after` in id order (byte order, as the embedded engine's SQLite)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT id, text, metadata FROM {self.table} WHERE id > %s COLLATE "C" '
                'ORDER BY id COLLATE "C" LIMIT %s',
                (after, limit),
            ).fetchall()
        return [Record(r[0], r[1], r[2]) for r in rows]

    def count(self) -> int:
        """Rows."""
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0]) if row else 0

    def sample(self, n: int, seed: int) -> list[Record]:
        """Random rows with their vectors (no text)."""
        with self.pool.connection() as conn:
            conn.execute("SELECT setseed(%s)", (((seed % 1000) / 1000.0),))
            rows = conn.execute(
                f"SELECT id, embedding::text FROM {self.table} ORDER BY random() LIMIT %s", (n,)
            ).fetchall()
        return [Record(r[0], "", {}, _parse(r[1])) for r in rows]

    def vector_search(
        self,
        vector: Vector,
        k: int,
        flt: Filter | None,
        *,
        exact: bool = False,
        params: IndexSettings | None = None,
    ) -> list[Scored]:
        """ORDER BY distance LIMIT k: through the ANN index (with iterative scans under a
        filter), or exactly when asked or when the filter keeps fewer than EXACT_ROWS rows."""
        settings = params or self.settings
        where, filter_args = "", list[Any]()
        if flt is not None:
            where = "WHERE " + filter_sql(flt, filter_args)
        distance = f"embedding {self.op} %s::vector"
        sql = (
            f"SELECT id, {self.score.format(d='d')} FROM (SELECT id, {distance} AS d "
            f"FROM {self.table} {where} ORDER BY d LIMIT %s) t ORDER BY d"
        )
        with self.pool.connection() as conn:
            if exact or (flt is not None and self._selective(conn, where, filter_args)):
                conn.execute("SET LOCAL enable_indexscan = off")
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(settings.ef_search, k)}")
            conn.execute(f"SET LOCAL ivfflat.probes = {settings.probes}")
            if flt is not None:
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                conn.execute("SET LOCAL ivfflat.iterative_scan = relaxed_order")
            rows = conn.execute(sql, [vector_text(vector), *filter_args, k]).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def _selective(self, conn: psycopg.Connection[Any], where: str, args: list[Any]) -> bool:
        """Whether the filter keeps fewer than EXACT_ROWS rows (the count stops there). The
        planner cannot estimate most jsonb filters, so it would walk the HNSW graph through
        thousands of rejected rows where an exact scan of the few matching ones is faster."""
        probe = f"SELECT count(*) FROM (SELECT 1 FROM {self.table} {where} LIMIT {EXACT_ROWS}) s"
        row = conn.execute(probe, args).fetchone()
        return row is not None and int(row[0]) < EXACT_ROWS

    def keyword_search(self, text: str, k: int, flt: Filter | None) -> list[Scored]:
        """Full-text match of any word, ranked by `ts_rank_cd`."""
        query = tsquery_text(text)
        if query is None:
            return []
        args: list[Any] = [query]
        where = "" if flt is None else "AND " + filter_sql(flt, args)
        args.append(k)
        sql = (
            f"SELECT id, ts_rank_cd(tsv, q) AS r FROM {self.table}, "
            f"to_tsquery('english', %s) q WHERE tsv @@ q {where} ORDER BY r DESC, id LIMIT %s"
        )
        with self.pool.connection() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    # -- index management ----------------------------------------------------------------------

    def _has_ann(self) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT to_regclass(%s)", (f"{self.table}_ann",)).fetchone()
        return bool(row and row[0])

    def _create_ann(self, settings: IndexSettings) -> None:
        if settings.type == "hnsw":
            how = f"hnsw (embedding {self.opclass}) WITH (m = {settings.m}, "
            how += f"ef_construction = {settings.ef_construction})"
        else:
            how = f"ivfflat (embedding {self.opclass}) WITH (lists = {settings.lists})"
        with self.pool.connection() as conn:
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            conn.execute(f"CREATE INDEX {self.table}_ann ON {self.table} USING {how}")

    def configure(self, settings: IndexSettings) -> None:
        """Search-time settings (ef_search, probes) for later queries."""
        self.settings = settings

    def build(self, settings: IndexSettings) -> None:
        """Drop and create the ANN index with `settings`."""
        with self.pool.connection() as conn:
            conn.execute(f"DROP INDEX IF EXISTS {self.table}_ann")
        self.settings = settings
        if settings.type != "flat":
            self._create_ann(settings)

    def optimize(self) -> None:
        """VACUUM (reclaims deleted rows) and REINDEX the table's indexes."""
        with psycopg.connect(self.pool.url, autocommit=True) as conn:
            conn.execute(f"VACUUM (ANALYZE) {self.table}")
            conn.execute(f"REINDEX TABLE {self.table}")

    def stats(self) -> dict[str, Any]:
        """Rows, bytes (table, TOAST and indexes), index state."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT count(*), pg_total_relation_size('{self.table}') FROM {self.table}"
            ).fetchone()
        assert row is not None
        built = self._has_ann()
        return {
            "rows": int(row[0]),
            "deleted": 0,
            "bytes": int(row[1]),
            "index": {"type": self.settings.type if built else "flat", "built": built},
        }

    def flush(self) -> None:
        """Nothing to do: every write is committed."""

    def close(self) -> None:
        """Nothing held per collection (the pool belongs to the manager)."""

    def drop(self) -> None:
        """DROP TABLE."""
        with self.pool.connection() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {self.table}")


def _parse(text: str | None) -> Vector | None:
    if text is None:
        return None
    return np.array(orjson.loads(text), dtype=np.float32)
