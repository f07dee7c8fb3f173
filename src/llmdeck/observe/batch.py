"""One write of the recorder: spans, their traces, roll-ups, scores and events in a transaction.

Spans of one trace may come from the gateway, the SDK and OTLP, in any order and batch. The trace
row merges them the same way in Python (within a batch) and in SQL (across batches): the root
span's name, input and output win; other spans only fill what is still empty; tags are united;
start and end widen; counts, tokens and cost add up; one failed span marks the trace failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Insert, case, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite

from llmdeck.observe import rollup
from llmdeck.observe.span import Event, Score, Span
from llmdeck.observe.sql import Bulk, dumps
from llmdeck.store import Store, tables

_DESCRIPTIVE = ("name", "session_id", "user_id", "metadata")
_SUMS = ("span_count", "input_tokens", "output_tokens", "cost")
_SPAN_JSON = ("tags", "attributes", "parameters")
# SQL literals, not bound parameters: the statements are compiled once for executemany.
_ERROR: ColumnElement[str] = literal_column("'error'")
_OK: ColumnElement[str] = literal_column("'ok'")
_ZERO: ColumnElement[int] = literal_column("0")


def merge_trace_rows(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Fold `new` into `old` (two trace rows of one trace), as the SQL upsert does."""
    root = new["root_span_id"] is not None
    for key in _DESCRIPTIVE:
        if root and new[key] is not None or old[key] is None:
            old[key] = new[key]
    for key in ("input", "output"):
        if root and new[key] is not None or old["root_span_id"] is None and old[key] is None:
            old[key] = new[key]
    if new["tags"]:
        old["tags"] = list(dict.fromkeys([*(old["tags"] or ()), *new["tags"]]))
    old["start_time"] = min(old["start_time"], new["start_time"])
    old["end_time"] = max(old["end_time"], new["end_time"])
    old["root_span_id"] = new["root_span_id"] or old["root_span_id"]
    if new["status"] == "error":
        old["status"] = "error"
    for key in _SUMS:
        old[key] += new[key]


def _tags_union(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        union = (
            "(SELECT json_agg(DISTINCT v) FROM (SELECT json_array_elements_text(traces.tags) AS v"
            " UNION SELECT json_array_elements_text(excluded.tags)) AS u)"
        )
        both = "json_typeof(traces.tags) = 'array' AND json_typeof(excluded.tags) = 'array'"
    else:
        union = (
            "(SELECT json_group_array(value) FROM (SELECT value FROM json_each(traces.tags)"
            " UNION SELECT value FROM json_each(excluded.tags)))"
        )
        both = "json_type(traces.tags) = 'array' AND json_type(excluded.tags) = 'array'"
    return literal_column(
        f"CASE WHEN excluded.tags IS NULL THEN traces.tags WHEN traces.tags IS NULL "
        f"THEN excluded.tags WHEN {both} THEN {union} ELSE excluded.tags END"
    )


def trace_upsert(store: Store) -> Insert:
    """The traces upsert that merges a row into the stored one (see the module docstring)."""
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    statement = dialect.insert(tables.traces)
    t, x = tables.traces.c, statement.excluded
    root = x.root_span_id.is_not(None)
    merged: dict[str, Any] = {
        key: case((root, func.coalesce(x[key], t[key])), else_=func.coalesce(t[key], x[key]))
        for key in _DESCRIPTIVE
    }
    for key in ("input", "output"):
        merged[key] = case(
            (root, func.coalesce(x[key], t[key])),
            (t.root_span_id.is_(None), func.coalesce(t[key], x[key])),
            else_=t[key],
        )
    merged["tags"] = _tags_union(store.dialect)
    merged["start_time"] = case(
        (t.start_time.is_(None) | (x.start_time < t.start_time), x.start_time), else_=t.start_time
    )
    merged["end_time"] = case(
        (t.end_time.is_(None) | (x.end_time > t.end_time), x.end_time), else_=t.end_time
    )
    merged["root_span_id"] = func.coalesce(x.root_span_id, t.root_span_id)
    merged["status"] = case((x.status == _ERROR, _ERROR), else_=func.coalesce(t.status, _OK))
    for key in _SUMS:
        merged[key] = func.coalesce(t[key], _ZERO) + x[key]
    upsert: Insert = statement.on_conflict_do_update(index_elements=["id"], set_=merged)
    return upsert


class Bounder:
    """Serialises `input`/`output` to JSON, truncating large ones and keeping their length."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.truncated = 0

    def __call__(self, value: Any) -> str | None:
        """The JSON text to store for `value`."""
        if value is None:
            return None
        data = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
        if len(data) <= self.limit:
            return data.decode()
        text = value if isinstance(value, str) else data.decode()
        if len(text) <= self.limit:
            return data.decode()
        self.truncated += 1
        cut = {"truncated": True, "length": len(text), "text": text[: self.limit]}
        return orjson.dumps(cut).decode()


class BatchWriter:
    """Writes one batch in one transaction."""

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.bound = Bounder(limit)
        span_columns = [c.name for c in tables.spans.columns]
        trace_columns = [c.name for c in tables.traces.columns]
        self._traces = Bulk(store, trace_upsert(store), trace_columns)
        self._spans = Bulk(store, store.insert_ignore(tables.spans), span_columns)
        self._rollups = Bulk(store, rollup.rollup_upsert(store), rollup.ROLLUP_COLUMNS)
        assert self._rollups.in_order, "roll-up rows are built in ROLLUP_COLUMNS order"
        self._scores = Bulk(
            store, store.insert_ignore(tables.scores), [c.name for c in tables.scores.columns]
        )
        self._events = Bulk(
            store, store.insert_ignore(tables.events), [c.name for c in tables.events.columns]
        )

    def rows(self, spans: Iterable[Span]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(span rows, merged trace rows sorted by id) ready for the driver."""
        span_rows = []
        merged: dict[str, dict[str, Any]] = {}
        for span in spans:
            row = span.row()
            row["input"] = self.bound(row["input"])
            row["output"] = self.bound(row["output"])
            trace = span.trace_row()
            trace["input"], trace["output"] = row["input"], row["output"]
            for key in _SPAN_JSON:
                row[key] = dumps(row[key])
            span_rows.append(row)
            known = merged.get(span.trace_id)
            if known is None:
                merged[span.trace_id] = trace
            else:
                merge_trace_rows(known, trace)
        traces = [merged[key] for key in sorted(merged)]
        for trace in traces:
            trace["tags"] = dumps(trace["tags"])
            trace["metadata"] = dumps(trace["metadata"])
        return span_rows, traces

    def write(
        self, spans: list[Span], kept: list[Span], scores: list[Score], events: list[Event]
    ) -> None:
        """Roll up every span in `spans`; store `kept` (the sampled ones), scores and events."""
        rollups = rollup.rollup_rows(rollup.fold(spans))
        span_rows, traces = self.rows(kept)
        score_rows = [_json_fields(s.row(), ("metadata",)) for s in scores]
        event_rows = [_json_fields(e.row(), ("attributes",)) for e in events]

        def write(conn: Connection) -> None:
            self._traces.run(conn, traces)
            self._spans.run(conn, span_rows)
            self._rollups.run_tuples(conn, rollups)
            self._scores.run(conn, score_rows)
            self._events.run(conn, event_rows)

        self.store.write(write)


def _json_fields(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        row[key] = dumps(row[key])
    return row
