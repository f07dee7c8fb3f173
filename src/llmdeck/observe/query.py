"""Reading traces back: search with filters and keyset pagination, one trace with its span tree,
scores and events. The same SQL runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    and_,
    cast,
    exists,
    or_,
    select,
)

from llmdeck.errors import BadRequest, NotFound
from llmdeck.observe.params import Params
from llmdeck.store import Store, tables

T, S, SC = tables.traces, tables.spans, tables.scores
_LIST_COLUMNS = [c for c in T.columns if c.name not in ("input", "output")]


@dataclass
class TraceFilter:
    """What to look for in traces; every field narrows the search."""

    text: str | None = None
    tags: list[str] = field(default_factory=list)
    status: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    name: str | None = None
    model: str | None = None
    score: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_value: str | None = None
    start: float | None = None
    end: float | None = None

    @classmethod
    def from_params(cls, params: Params) -> TraceFilter:
        """From a query string."""
        status = params.text("status")
        if status not in (None, "ok", "error"):
            raise BadRequest("status: must be ok or error", param="status")
        return cls(
            text=params.text("q"),
            tags=params.items("tags") + params.items("tag"),
            status=status,
            user_id=params.text("user_id") or params.text("user"),
            session_id=params.text("session_id") or params.text("session"),
            name=params.text("name"),
            model=params.text("model"),
            score=params.text("score"),
            score_min=params.number("score_min"),
            score_max=params.number("score_max"),
            score_value=params.text("score_value"),
            start=params.time("start"),
            end=params.time("end"),
        )

    def where(self) -> list[ColumnElement[bool]]:
        """SQL conditions on the traces table."""
        found: list[ColumnElement[bool]] = []
        if self.text:
            pattern = "%" + _escape_like(self.text) + "%"
            found.append(
                or_(
                    T.c.name.ilike(pattern, escape="\\"),
                    T.c.id == self.text.lower(),
                    cast(T.c.input, String).ilike(pattern, escape="\\"),
                    cast(T.c.output, String).ilike(pattern, escape="\\"),
                )
            )
        for tag in self.tags:
            encoded = _escape_like(orjson.dumps(tag).decode())
            found.append(cast(T.c.tags, String).like(f"%{encoded}%", escape="\\"))
        for column, value in (
            (T.c.status, self.status),
            (T.c.user_id, self.user_id),
            (T.c.session_id, self.session_id),
            (T.c.name, self.name),
        ):
            if value is not None:
                found.append(column == value)
        if self.start is not None:
            found.append(T.c.start_time >= self.start)
        if self.end is not None:
            found.append(T.c.start_time < self.end)
        if self.model:
            model = or_(S.c.model_alias == self.model, S.c.model == self.model)
            found.append(exists().where(S.c.trace_id == T.c.id, model))
        if self.score:
            found.append(exists().where(SC.c.trace_id == T.c.id, *self._score_where()))
        return found

    def _score_where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [SC.c.name == self.score]
        if self.score_min is not None:
            where.append(SC.c.value >= self.score_min)
        if self.score_max is not None:
            where.append(SC.c.value <= self.score_max)
        if self.score_value is not None:
            where.append(SC.c.string_value == self.score_value)
        return where


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor(value: str | None) -> ColumnElement[bool] | None:
    if not value:
        return None
    at, _, trace_id = value.partition(":")
    try:
        when = float(at)
    except ValueError:
        raise BadRequest("cursor: not a cursor from a previous page", param="cursor") from None
    return or_(T.c.start_time < when, and_(T.c.start_time == when, T.c.id < trace_id))


def _trace(row: Any, scores: Sequence[Any] = ()) -> dict[str, Any]:
    trace = dict(row._mapping)
    start, end = trace.get("start_time"), trace.get("end_time")
    trace["latency_ms"] = (end - start) * 1000 if start is not None and end is not None else None
    trace["scores"] = [_score(s) for s in scores]
    return trace


def _score(row: Any) -> dict[str, Any]:
    score = dict(row._mapping)
    if score["data_type"] == "boolean":
        score["value"] = bool(score["value"])
    return score


def _scores_for(conn: Connection, trace_ids: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    if not trace_ids:
        return found
    query = select(SC).where(SC.c.trace_id.in_(trace_ids)).order_by(SC.c.created_at)
    for row in conn.execute(query):
        found.setdefault(row.trace_id, []).append(row)
    return found


def search(
    conn: Connection,
    where: TraceFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
    io: bool = False,
    spans: bool = False,
) -> dict[str, Any]:
    """A page of traces, newest first: {"data": [...], "next_cursor": str | None}."""
    columns = list(T.columns) if io else _LIST_COLUMNS
    conditions = where.where()
    after = _cursor(cursor)
    if after is not None:
        conditions.append(after)
    query: Select[Any] = (
        select(*columns)
        .where(*conditions)
        .order_by(T.c.start_time.desc(), T.c.id.desc())
        .limit(limit + 1)
    )
    rows = list(conn.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row.id for row in rows]
    scores = _scores_for(conn, ids)
    data = [_trace(row, scores.get(row.id, ())) for row in rows]
    if spans and ids:
        by_trace: dict[str, list[dict[str, Any]]] = {}
        span_query = select(S).where(S.c.trace_id.in_(ids)).order_by(S.c.start_time)
        for span in conn.execute(span_query):
            by_trace.setdefault(span.trace_id, []).append(dict(span._mapping))
        for trace in data:
            trace["spans"] = by_trace.get(trace["id"], [])
    last = rows[-1] if more and rows else None
    next_cursor = f"{last.start_time!r}:{last.id}" if last is not None else None
    return {"data": data, "next_cursor": next_cursor}


def tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents (`children`); spans without a parent here are roots."""
    by_id = {span["id"]: {**span, "children": []} for span in spans}
    roots: list[dict[str, Any]] = []
    for span in by_id.values():
        parent = by_id.get(span["parent_id"]) if span["parent_id"] else None
        (parent["children"] if parent is not None else roots).append(span)
    return roots


def get_trace(conn: Connection, trace_id: str) -> dict[str, Any]:
    """One trace with its span tree, scores and events; NotFound if nothing is stored for it."""
    row = conn.execute(select(T).where(T.c.id == trace_id)).first()
    spans = [
        dict(r._mapping)
        for r in conn.execute(select(S).where(S.c.trace_id == trace_id).order_by(S.c.start_time))
    ]
    if row is None and not spans:
        raise NotFound(f"trace {trace_id!r} not found", code="trace_not_found")
    scores = _scores_for(conn, [trace_id]).get(trace_id, [])
    trace: dict[str, Any] = _trace(row, scores) if row is not None else {"id": trace_id}
    events = conn.execute(
        select(tables.events).where(tables.events.c.trace_id == trace_id).order_by("time")
    )
    trace.setdefault("scores", [])
    trace["spans"] = tree(spans)
    trace["events"] = [dict(e._mapping) for e in events]
    return trace


def list_events(conn: Connection, params: Params) -> list[dict[str, Any]]:
    """Events, newest first, filtered by name (prefix with `*`), level, trace and time."""
    E = tables.events
    where: list[ColumnElement[bool]] = []
    name = params.text("name")
    if name:
        where.append(E.c.name.like(name[:-1] + "%") if name.endswith("*") else E.c.name == name)
    for column, key in ((E.c.level, "level"), (E.c.trace_id, "trace_id")):
        value = params.text(key)
        if value:
            where.append(column == value)
    start, end = params.time("start"), params.time("end")
    if start is not None:
        where.append(E.c.time >= start)
    if end is not None:
        where.append(E.c.time < end)
    limit = params.integer("limit", 100, 1, 1000)
    query = select(E).where(*where).order_by(E.c.time.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


async def asearch(store: Store, where: TraceFilter, **options: Any) -> dict[str, Any]:
    """`search` on the store's thread pool."""
    return await store.aread(lambda conn: search(conn, where, **options))


__all__ = ["TraceFilter", "asearch", "get_trace", "list_events", "search", "tree"]
