"""Analytics from the roll-ups: totals, rates, token and cost sums and latency percentiles over
any time range, as one summary or as a time series, grouped by any roll-up dimension.

A range is read at the coarsest resolution that fits it exactly: whole days from the day
roll-ups, whole hours from the hour ones, and minutes only at the ragged ends; so a year costs
about as much as a day. Times are epoch seconds, aligned to the minute (or, once the finer
roll-ups have been deleted by retention, to the hour or day).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal_column, or_, select

from llmdeck.config import RetentionSettings
from llmdeck.errors import BadRequest
from llmdeck.observe.params import Params
from llmdeck.observe.rollup import DAY, HOUR, MINUTE, percentile
from llmdeck.store.tables import span_rollups
from llmdeck.store.tables.observe import LATENCY_BINS, ROLLUP_SUMS, TTFT_BINS

R = span_rollups.c
GROUPS = {
    "kind": ("kind",),
    "model_alias": ("model_alias",),
    "model": ("model",),
    "provider": ("provider",),
    "deployment": ("deployment",),
    "key": ("key_id",),
    "key_id": ("key_id",),
    "prompt": ("prompt_name", "prompt_version"),
    "prompt_name": ("prompt_name",),
    "prompt_version": ("prompt_version",),
    "tag": ("tag",),
}
BUCKETS = {"minute": MINUTE, "hour": HOUR, "day": DAY}
MAX_POINTS = 5_000
Segment = tuple[int, int, int]
"""(resolution, start, end): read rows of this resolution with start <= bucket < end."""


def segments(start: int, end: int, finest: int = MINUTE, coarsest: int = DAY) -> list[Segment]:
    """Cover [start, end) (multiples of `finest`) with as few, as coarse, roll-up rows as can,
    none coarser than `coarsest`."""
    for resolution in (DAY, HOUR, MINUTE):
        if resolution > coarsest:
            continue
        if resolution < finest:
            break
        low = -(-start // resolution) * resolution
        high = end // resolution * resolution
        if low < high:
            return [
                *segments(start, low, finest, coarsest),
                (resolution, low, high),
                *segments(high, end, finest, coarsest),
            ]
    return []


@dataclass
class Query:
    """An analytics question."""

    start: float
    end: float
    bucket: int | None = None
    group_by: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=lambda: ["llm", "embedding"])

    @classmethod
    def from_params(cls, params: Params, *, series: bool) -> Query:
        """From a query string; `series` reads `bucket` (minute, hour, day, or seconds)."""
        end = params.time("end", params.now) or params.now
        start = params.time("start", end - 86400) or end - 86400
        if start >= end:
            raise BadRequest("start: must be before end", param="start")
        group_by = params.items("group_by")
        for name in group_by:
            if name not in GROUPS:
                known = ", ".join(GROUPS)
                raise BadRequest(f"group_by: unknown {name!r}; known: {known}", param="group_by")
        filters = {n: params.items(n) for n in GROUPS if n != "kind" and params.items(n)}
        kinds = params.items("kind") or ["llm", "embedding"]
        bucket = _bucket(params.text("bucket") or "hour") if series else None
        return cls(start, end, bucket, group_by, filters, [] if kinds == ["all"] else kinds)


def _bucket(value: str) -> int:
    seconds = BUCKETS.get(value)
    if seconds is None:
        try:
            seconds = int(value)
        except ValueError:
            seconds = 0
    if seconds < MINUTE or seconds % MINUTE:
        raise BadRequest("bucket: minute, hour, day, or a multiple of 60 seconds", param="bucket")
    return seconds


def _finest(start: float, retention: RetentionSettings, now: float) -> int:
    for resolution, keep in ((MINUTE, retention.minute_rollups), (HOUR, retention.hour_rollups)):
        if keep is None or start >= now - keep:
            return resolution
    return DAY


def _where(query: Query, spans: list[Segment]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        or_(*(and_(R.resolution == r, R.bucket >= a, R.bucket < b) for r, a, b in spans))
    ]
    if query.kinds:
        where.append(R.kind.in_(query.kinds))
    tagged = "tag" in query.group_by or "tag" in query.filters
    if not tagged:
        where.append(R.tag == "")
    for name, values in query.filters.items():
        column = R[GROUPS[name][0]]
        if name == "prompt_version":
            where.append(column.in_([int(v) for v in values if v.isdigit()]))
        else:
            where.append(column.in_(values))
    if tagged and "tag" not in query.filters:
        where.append(R.tag != "")
    return where


def _metrics(sums: dict[str, Any], seconds: float) -> dict[str, Any]:
    count = sums["count"] or 0
    latency = [sums[b] or 0 for b in LATENCY_BINS]
    ttft = [sums[b] or 0 for b in TTFT_BINS]
    ttft_count = sums["ttft_count"] or 0
    return {
        "requests": count,
        "errors": sums["errors"] or 0,
        "error_rate": (sums["errors"] or 0) / count if count else 0.0,
        "throughput": count / seconds if seconds else 0.0,
        "latency_ms": {
            "avg": (sums["latency_sum"] or 0) / count if count else None,
            "p50": percentile(latency, 0.5),
            "p95": percentile(latency, 0.95),
            "p99": percentile(latency, 0.99),
        },
        "ttft_ms": {
            "avg": (sums["ttft_sum"] or 0) / ttft_count if ttft_count else None,
            "p50": percentile(ttft, 0.5),
            "p95": percentile(ttft, 0.95),
            "p99": percentile(ttft, 0.99),
        },
        "input_tokens": sums["input_tokens"] or 0,
        "output_tokens": sums["output_tokens"] or 0,
        "cached_tokens": sums["cached_tokens"] or 0,
        "cost": float(sums["cost"] or 0.0),
        "cache_hits": sums["cache_hits"] or 0,
        "cache_saved_usd": float(sums["cache_saved"] or 0.0),
    }


def run(conn: Connection, query: Query, retention: RetentionSettings) -> dict[str, Any]:
    """The answer: {"start", "end", "bucket", "group_by", "series": [{"group", "points"}]}
    (one point per series without a bucket)."""
    finest = _finest(query.start, retention, time.time())
    coarsest = DAY
    if query.bucket:
        # A point sums roll-up rows that tile it: none coarser than the point itself (hours
        # for hourly points, minutes for 15-minute ones), else a day's row lands in one hour.
        tiles = [r for r in (MINUTE, HOUR, DAY) if r >= finest and query.bucket % r == 0]
        finest = coarsest = max(tiles, default=finest)
    step = query.bucket or finest
    if step % finest:
        step = finest
    start = int(query.start) // step * step
    end = -(-int(query.end) // step) * step
    if query.bucket and (end - start) // step > MAX_POINTS:
        raise BadRequest(f"bucket: the range would have over {MAX_POINTS} points", param="bucket")
    columns = [R[c] for name in query.group_by for c in GROUPS[name]]
    keys = [c.name for c in columns]
    bucket = (R.bucket // literal_column(str(step)) * literal_column(str(step))).label("at")
    selected = [*columns, *([bucket] if query.bucket else [])]
    sums = [func.sum(R[name]).label(name) for name in ROLLUP_SUMS]
    statement = (
        select(*selected, *sums)
        .where(*_where(query, segments(start, end, finest, coarsest)))
        .group_by(*selected)
    )
    series: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(statement):
        values = row._mapping
        group = tuple(values[k] for k in keys)
        entry = series.setdefault(group, {"group": dict(zip(keys, group, strict=True))})
        seconds = step if query.bucket else end - start
        point = _metrics({k: _plain(v) for k, v in values.items()}, seconds)
        if query.bucket:
            entry.setdefault("points", {})[int(values["at"])] = point
        else:
            entry.update(point)
    result = [
        _fill(entry, start, end, step) if query.bucket else entry for entry in series.values()
    ]
    return {
        "start": start,
        "end": end,
        "bucket": step if query.bucket else None,
        "group_by": query.group_by,
        "series": result,
    }


def _plain(value: Any) -> Any:
    """PostgreSQL sums bigints as numeric: back to int (or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _fill(entry: dict[str, Any], start: int, end: int, step: int) -> dict[str, Any]:
    points = entry.pop("points", {})
    empty = _metrics({name: 0 for name in ROLLUP_SUMS}, step)
    entry["points"] = [{"time": at, **points.get(at, empty)} for at in range(start, end, step)]
    return entry
