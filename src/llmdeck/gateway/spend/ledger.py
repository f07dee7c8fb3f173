"""The spend roll-up, written behind the requests: each finished call adds to an in-memory row
per (UTC day, key, team, model alias, deployment, prompt, tag); a task writes the rows every
`interval` seconds as increments (`ON CONFLICT DO UPDATE SET cost = cost + excluded.cost`), so
replicas add to the same rows safely. A failed write keeps its rows for the next one.

Why a roll-up rather than sums over spans: budgets need totals that outlive span retention, the
team is not on a span, and one day's spend by key is one indexed row per dimension set instead
of a scan of every span (docs/benchmarks.md, "Keys, limits and budgets", has the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from llmdeck.store import Store, tables

log = logging.getLogger(__name__)

DIMENSIONS = ("day", "key_id", "team", "model_alias", "deployment", "prompt_name", "tag")
COUNTERS = ("requests", "input_tokens", "output_tokens", "cached_tokens", "cost")
Row = tuple[str, str, str, str, str, str, str]


def day_of(moment: float) -> str:
    """The UTC day of an epoch time, as YYYY-MM-DD."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class Totals:
    """What a dimension set has added up to."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0

    def add(self, other: Totals) -> None:
        """Add another total to this one."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.cost += other.cost


@dataclass(frozen=True, slots=True)
class SpendItem:
    """One finished call, as the roll-up sees it."""

    moment: float
    key_id: str | None
    team: str | None
    model_alias: str
    deployment: str | None
    prompt_name: str | None
    tags: Iterable[str]
    totals: Totals


class SpendLedger:
    """Daily spend rows, accumulated in memory and written every `interval` seconds."""

    def __init__(self, store: Store, *, interval: float = 1.0) -> None:
        self.store = store
        self.interval = interval
        self._rows: dict[Row, Totals] = {}
        self._writing: dict[Row, Totals] = {}
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def add(self, item: SpendItem) -> None:
        """Count a finished call (no I/O)."""
        base = (
            day_of(item.moment),
            item.key_id or "",
            item.team or "",
            item.model_alias,
            item.deployment or "",
            item.prompt_name or "",
        )
        for tag in ("", *dict.fromkeys(t for t in item.tags if t)):
            self._rows.setdefault((*base, tag), Totals()).add(item.totals)

    def pending_cost(self, key_id: str, since_day: str) -> float:
        """Spend of `key_id` from `since_day` on that is not in the database yet."""
        return sum(
            totals.cost
            for rows in (self._rows, self._writing)
            for row, totals in rows.items()
            if row[1] == key_id and row[6] == "" and row[0] >= since_day
        )

    async def spent_since(self, key_id: str, since_day: str) -> float:
        """Everything `key_id` spent from `since_day` on: the database plus what is pending."""
        stored = await self.store.aread(lambda c: spent_since(c, key_id, since_day))
        return stored + self.pending_cost(key_id, since_day)

    async def start(self) -> None:
        """Start writing every `interval` seconds."""
        self._task = asyncio.create_task(self._run(), name="llmdeck-spend")

    async def close(self) -> None:
        """Stop, then write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def flush(self) -> None:
        """Write the rows gathered so far; on failure keep them for the next try."""
        if not self._rows or self._writing:
            return
        self._writing, self._rows = self._rows, {}
        rows = [_values(row, totals) for row, totals in sorted(self._writing.items())]
        try:
            await self.store.awrite(lambda conn: _upsert(conn, self.store.dialect, rows))
        except Exception:
            self.failures += 1
            log.exception("could not write %d spend rows; keeping them", len(rows))
            for row, totals in self._writing.items():
                self._rows.setdefault(row, Totals()).add(totals)
        finally:
            self._writing = {}


def _values(row: Row, totals: Totals) -> dict[str, Any]:
    return dict(zip(DIMENSIONS + COUNTERS, (*row, *astuple(totals)), strict=True))


def _upsert(conn: Connection, dialect: str, rows: list[dict[str, Any]]) -> None:
    table = tables.spend_daily
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(DIMENSIONS),
        set_={name: table.c[name] + insert.excluded[name] for name in COUNTERS},
    )
    conn.execute(statement, rows)


def spent_since(conn: Connection, key_id: str, since_day: str) -> float:
    """What the database holds of `key_id`'s spend from `since_day` on."""
    table = tables.spend_daily
    query = select(func.coalesce(func.sum(table.c.cost), 0.0)).where(
        table.c.key_id == key_id, table.c.tag == "", table.c.day >= since_day
    )
    return float(conn.execute(query).scalar() or 0.0)
