"""Retention deletes old raw data in batches and keeps the roll-ups that charts need."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from llmdeck.config import RetentionSettings
from llmdeck.observe import Event, Recorder, Score, Span
from llmdeck.observe.retention import Retention
from llmdeck.store import Store, open_store, tables

# Half past an hour that has passed: the recent spans (up to 5 minutes old) and the old ones
# (40 days back) each fall in one hour bucket whatever the clock says when the test runs.
NOW = time.time() // 3600 * 3600 - 1800


def count(store: Store, table: object, *where: object) -> int:
    query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
    return int(store.read(lambda conn: conn.execute(query).scalar()) or 0)


def fill(store: Store) -> None:
    recorder = Recorder(store)
    recorder.start()
    for i in range(50):
        age = 40 * 86400 if i < 30 else 600 - 10 * i  # 30 traces from 40 days ago, 20 recent
        trace = f"{i:032x}"
        for n in range(2):
            recorder.record(
                Span(
                    id=f"{i:08x}{n:08x}",
                    trace_id=trace,
                    name="s",
                    kind="llm",
                    start_time=NOW - age + n,
                    latency_ms=5.0,
                    cost=0.5,
                )
            )
        recorder.record_score(Score(trace_id=trace, name="ok", data_type="numeric", value=1.0))
    recorder.record_event(Event(name="circuit.open", time=NOW - 40 * 86400))
    recorder.record_event(Event(name="circuit.closed"))
    recorder.close()


def test_age_limit_deletes_old_traces_keeps_rollups(database_url: str) -> None:
    store = open_store(database_url)
    fill(store)
    rollups_before = count(store, tables.span_rollups, tables.span_rollups.c.resolution == 86400)
    settings = RetentionSettings(max_age="30d", max_spans=None, minute_rollups="60d", batch_size=7)
    deleted = Retention(store, settings, pause=0).run_once(NOW)
    assert (deleted.traces, deleted.spans, deleted.scores, deleted.events) == (30, 60, 30, 1)
    assert count(store, tables.traces) == 20 and count(store, tables.spans) == 40
    assert count(store, tables.scores) == 20 and count(store, tables.events) == 1
    day = tables.span_rollups.c.resolution == 86400
    assert count(store, tables.span_rollups, day) == rollups_before
    old = select(func.sum(tables.span_rollups.c["count"])).where(
        day, tables.span_rollups.c.bucket < NOW - 30 * 86400
    )
    assert store.read(lambda conn: conn.execute(old).scalar()) == 60
    store.close()


def test_size_limit_and_rollup_ages(database_url: str) -> None:
    store = open_store(database_url)
    fill(store)
    settings = RetentionSettings(max_age=None, max_spans=30, minute_rollups="7d", batch_size=4)
    deleted = Retention(store, settings, pause=0).run_once(NOW)
    assert count(store, tables.spans) <= 30 and deleted.traces >= 35
    minute = tables.span_rollups.c.resolution == 60
    assert (
        count(store, tables.span_rollups, minute, tables.span_rollups.c.bucket < NOW - 8 * 86400)
        == 0
    )
    assert count(store, tables.span_rollups, minute) > 0
    assert count(store, tables.span_rollups, tables.span_rollups.c.resolution == 3600) == 2
    store.close()
