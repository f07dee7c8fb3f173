"""Write-behind persistence for the in-process cache: changes are coalesced per entry and
written in batches, off the request path; at start the live entries are read back."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from llmdeck.gateway.cache.entry import Entry, vector_bytes, vector_from_bytes
from llmdeck.store import Store, tables

log = logging.getLogger(__name__)

_T = tables.cache_entries
Change = Entry | None  # the entry to write, or None to delete it


class Persistence:
    """Keeps the `cache_entries` table in step with an in-process cache."""

    def __init__(self, store: Store, interval: float = 0.5, batch: int = 500) -> None:
        self.store = store
        self.interval = interval
        self.batch = batch
        self._pending: dict[str, Change] = {}
        self._touched: dict[str, Entry] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.failed = 0

    async def load(self, limit: int) -> list[Entry]:
        """The live entries, least recently used first (at most `limit`); expired rows go."""
        now = time.time()

        def read(conn: Connection) -> list[Entry]:
            conn.execute(delete(_T).where(_T.c.expires_at <= now))
            query = (
                select(_T).where(_T.c.expires_at > now).order_by(_T.c.last_used.desc()).limit(limit)
            )
            return [_entry(row._mapping) for row in conn.execute(query)][::-1]

        return await self.store.awrite(read)

    def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Write everything pending and stop."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while self._pending or self._touched:
            await self._flush()

    def put(self, entry: Entry) -> None:
        """Write (or rewrite) an entry."""
        self._touched.pop(entry.key, None)
        self._pending[entry.key] = entry
        self._nudge()

    def touch(self, entry: Entry) -> None:
        """Record a hit (its count and time) on an entry."""
        if entry.key not in self._pending:
            self._touched[entry.key] = entry
            self._nudge()

    def delete(self, key: str) -> None:
        """Delete an entry."""
        self._touched.pop(key, None)
        self._pending[key] = None
        self._nudge()

    async def clear(self, alias: str | None) -> None:
        """Delete every row (of one alias) now."""
        await self._flush()
        condition = _T.c.alias == alias if alias is not None else None
        statement = delete(_T) if condition is None else delete(_T).where(condition)
        await self.store.awrite(lambda conn: conn.execute(statement))

    def _nudge(self) -> None:
        if len(self._pending) + len(self._touched) >= self.batch:
            self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._pending or self._touched:
                await self._flush()

    async def _flush(self) -> None:
        changes, self._pending = self._pending, {}
        touched, self._touched = self._touched, {}
        rows = [_row(e) for e in changes.values() if e is not None]
        gone = [key for key, e in changes.items() if e is None]
        hits = [{"k": e.key, "h": e.hits, "t": e.last_used} for e in touched.values()]

        def write(conn: Connection) -> None:
            if gone:
                conn.execute(delete(_T).where(_T.c.key.in_(gone)))
            if rows:
                columns = [c for c in rows[0] if c != "key"]
                conn.execute(self.store.upsert(_T, ["key"], columns), rows)
            if hits:
                statement = (
                    update(_T)
                    .where(_T.c.key == bindparam("k"))
                    .values(hits=bindparam("h"), last_used=bindparam("t"))
                )
                conn.execute(statement, hits)

        try:
            await self.store.awrite(write)
        except Exception:  # the cache keeps serving; the rows are lost, counted
            self.failed += len(rows) + len(gone) + len(hits)
            log.exception("could not persist %d cache changes", len(changes) + len(touched))


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "alias": entry.alias,
        "namespace": entry.namespace,
        "question": entry.question,
        "vector": vector_bytes(entry.vector) if entry.vector is not None else None,
        "response": entry.response,
        "prompt_tokens": entry.prompt_tokens,
        "completion_tokens": entry.completion_tokens,
        "cost": entry.cost,
        "created_at": entry.created_at,
        "expires_at": entry.expires_at,
        "hits": entry.hits,
        "last_used": entry.last_used or entry.created_at,
    }


def _entry(row: Any) -> Entry:
    return Entry(
        key=row["key"],
        alias=row["alias"],
        response=row["response"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cost=row["cost"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        namespace=row["namespace"],
        question=row["question"],
        vector=vector_from_bytes(row["vector"]) if row["vector"] is not None else None,
        hits=row["hits"],
        last_used=row["last_used"],
    )
