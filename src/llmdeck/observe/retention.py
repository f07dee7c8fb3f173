"""Bounded storage: delete raw traces past an age or beyond a span count, and roll-ups past
their own ages, in small batches with a pause between them so the recorder's writes go on.
The server runs `Retention.run_forever` in the background."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, func, select

from llmdeck.config import RetentionSettings
from llmdeck.observe.rollup import DAY, HOUR, MINUTE
from llmdeck.store import Store, tables

log = logging.getLogger(__name__)
T, S = tables.traces, tables.spans


@dataclass
class Deleted:
    """What one retention pass deleted."""

    traces: int = 0
    spans: int = 0
    scores: int = 0
    events: int = 0
    rollups: dict[int, int] = field(default_factory=dict)


class Retention:
    """Applies `observe.retention` to a store."""

    def __init__(self, store: Store, settings: RetentionSettings, pause: float = 0.01) -> None:
        self.store = store
        self.settings = settings
        self.pause = pause

    def cutoff(self, now: float) -> float | None:
        """Traces that started before this are deleted (by age, or to get under max_spans)."""
        cutoffs = []
        if self.settings.max_age is not None:
            cutoffs.append(now - self.settings.max_age)
        if self.settings.max_spans is not None:
            limit = self.settings.max_spans
            count = self.store.read(lambda c: c.execute(select(func.count()).select_from(S)))
            excess = int(count.scalar() or 0) - limit
            if excess > 0:
                oldest = self.store.read(
                    lambda c: c.execute(
                        select(S.c.start_time).order_by(S.c.start_time).offset(excess).limit(1)
                    ).scalar()
                )
                if oldest is not None:
                    cutoffs.append(float(oldest))
        return max(cutoffs) if cutoffs else None

    def run_once(self, now: float | None = None) -> Deleted:
        """One pass over everything retention covers."""
        now = time.time() if now is None else now
        done = Deleted()
        cutoff = self.cutoff(now)
        if cutoff is not None:
            self._traces_before(cutoff, done)
            done.events = self._batches(tables.events, tables.events.c.time, cutoff)
        for resolution, keep in (
            (MINUTE, self.settings.minute_rollups),
            (HOUR, self.settings.hour_rollups),
            (DAY, self.settings.day_rollups),
        ):
            if keep is not None:
                done.rollups[resolution] = self._rollups(resolution, now - keep)
        return done

    def _traces_before(self, cutoff: float, done: Deleted) -> None:
        size = self.settings.batch_size
        while True:
            ids = self.store.read(
                lambda c: list(
                    c.execute(
                        select(T.c.id)
                        .where(T.c.start_time < cutoff)
                        .order_by(T.c.start_time)
                        .limit(size)
                    ).scalars()
                )
            )
            if not ids:
                break

            def drop(conn: Connection, ids: list[str] = ids) -> None:
                done.spans += conn.execute(delete(S).where(S.c.trace_id.in_(ids))).rowcount
                scores = delete(tables.scores).where(tables.scores.c.trace_id.in_(ids))
                done.scores += conn.execute(scores).rowcount
                done.traces += conn.execute(delete(T).where(T.c.id.in_(ids))).rowcount

            self.store.write(drop)
            time.sleep(self.pause)
        # Spans whose trace row is missing (written before trace rows existed) go by age too.
        done.spans += self._batches(S, S.c.start_time, cutoff, key=S.c.id)

    def _batches(
        self,
        table: Table,
        column: ColumnElement[float],
        cutoff: float,
        key: ColumnElement[str] | None = None,
    ) -> int:
        key_column = key if key is not None else table.c.id
        limit = self.settings.batch_size
        total = 0
        chosen = select(key_column).where(column < cutoff).limit(limit)
        while True:
            keys: list[str] = self.store.read(lambda c: list(c.execute(chosen).scalars()))
            if not keys:
                return total
            total += self.store.write(_deleter(table, key_column, keys))
            time.sleep(self.pause)

    def _rollups(self, resolution: int, before: float) -> int:
        R = tables.span_rollups.c
        first = select(func.min(R.bucket)).where(
            R.resolution == resolution, R.bucket < int(before) - resolution
        )
        total = 0
        while True:
            # One bucket at a time: a bucket is small, and the unique index finds it.
            oldest = self.store.read(lambda c: c.execute(first).scalar())
            if oldest is None:
                return total
            gone = R.resolution == resolution, R.bucket == oldest
            total += self.store.write(_deleter(tables.span_rollups, None, gone))
            time.sleep(self.pause)

    async def run_forever(self) -> None:
        """Run a pass every `interval` seconds until cancelled."""
        while True:
            try:
                deleted = await asyncio.to_thread(self.run_once)
                if deleted.traces or deleted.spans:
                    log.info("retention deleted %d traces, %d spans", deleted.traces, deleted.spans)
            except Exception:
                log.exception("retention pass failed")
            await asyncio.sleep(self.settings.interval)


def _deleter(
    table: Table, key: ColumnElement[str] | None, keys: Any
) -> Callable[[Connection], int]:
    """A write deleting rows of `table` whose `key` is in `keys` (or, without a key, the rows
    matching the conditions in `keys`)."""
    where = (key.in_(keys),) if key is not None else tuple(keys)

    def run(conn: Connection) -> int:
        return int(conn.execute(delete(table).where(*where)).rowcount)

    return run
