"""Observability: traces, their spans, scores, events, and per-minute/hour/day roll-ups.

A gateway call is a trace with one `llm` span (or joins a caller's trace by W3C traceparent);
SDK and OTLP spans of one trace may arrive from several sources, and the trace row merges them.
Roll-ups keep counts, sums and log-scale latency histograms per time bucket and dimension set, so
charts over long ranges stay fast after raw spans are deleted.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text

from llmdeck.store.tables.base import metadata, text_column, time_column

HISTOGRAM_BINS = 80
"""Latency histogram bins: bin 0 is under 1 ms, bin i covers [2^((i-1)/4), 2^(i/4)) ms, and the
last bin everything from 2^19.5 ms (about 12 minutes) up."""

ROLLUP_DIMENSIONS = (
    "kind",
    "model_alias",
    "model",
    "provider",
    "deployment",
    "key_id",
    "prompt_name",
    "prompt_version",
    "tag",
)
"""What roll-ups are grouped by. `tag` is "" on the row that counts every span once; a span with
tags also adds one row per tag."""

LATENCY_BINS = tuple(f"lat_{i:02d}" for i in range(HISTOGRAM_BINS))
TTFT_BINS = tuple(f"ttft_{i:02d}" for i in range(HISTOGRAM_BINS))
ROLLUP_SUMS = (
    "count",
    "errors",
    "cache_hits",
    "latency_sum",
    "ttft_count",
    "ttft_sum",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost",
    "cache_saved",
    *LATENCY_BINS,
    *TTFT_BINS,
)
"""Every additive roll-up column (an upsert adds the new values to these)."""


def json_column(name: str) -> Column[object]:
    """A JSON document where Python None is SQL NULL (so COALESCE merges work)."""
    return Column(name, JSON(none_as_null=True), nullable=True)


def _zero(name: str, kind: type[Integer] | type[Float[float]] = Integer) -> Column[object]:
    return Column(name, kind, nullable=False, server_default="0")


traces = Table(
    "traces",
    metadata,
    Column("id", String(32), primary_key=True),
    text_column("name"),
    text_column("session_id", index=True),
    text_column("user_id", index=True),
    json_column("tags"),
    json_column("metadata"),
    json_column("input"),
    json_column("output"),
    time_column("start_time", index=True),
    time_column("end_time"),
    Column("root_span_id", String(16), nullable=True),
    Column("status", String(8), nullable=True, server_default="ok"),
    Column("span_count", Integer, nullable=True, server_default="0"),
    Column("input_tokens", Integer, nullable=True, server_default="0"),
    Column("output_tokens", Integer, nullable=True, server_default="0"),
    Column("cost", Float, nullable=True, server_default="0"),
)

spans = Table(
    "spans",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("trace_id", String(32), nullable=False, index=True),
    Column("parent_id", String(16), nullable=True),
    text_column("name"),
    Column("kind", String(16), nullable=False),
    time_column("start_time", nullable=False, index=True),
    time_column("end_time"),
    Column("status", String(8), nullable=False),
    text_column("error"),
    text_column("model_alias"),
    text_column("model"),
    text_column("deployment"),
    text_column("provider"),
    text_column("key_id"),
    text_column("user_id"),
    text_column("prompt_name"),
    Column("prompt_version", Integer, nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("cached_tokens", Integer, nullable=True),
    Column("cost", Float, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("ttft_ms", Float, nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("cache", String(16), nullable=True),
    json_column("tags"),
    json_column("input"),
    json_column("output"),
    json_column("attributes"),
    json_column("parameters"),
    Index("ix_spans_kind_start", "kind", "start_time"),
)

scores = Table(
    "scores",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("trace_id", String(32), nullable=False, index=True),
    Column("span_id", String(16), nullable=True),
    Column("name", Text, nullable=False),
    Column("data_type", String(16), nullable=False),
    Column("value", Float, nullable=True),
    text_column("string_value"),
    Column("source", String(16), nullable=False),
    text_column("comment"),
    json_column("metadata"),
    text_column("key_id"),
    time_column("created_at", nullable=False, index=True),
)

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    time_column("time", nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("level", String(8), nullable=False),
    text_column("source"),
    text_column("message"),
    Column("trace_id", String(32), nullable=True),
    Column("span_id", String(16), nullable=True),
    json_column("attributes"),
    Index("ix_events_name_time", "name", "time"),
)

span_rollups = Table(
    "span_rollups",
    metadata,
    Column("resolution", Integer, nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("model_alias", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("deployment", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("prompt_name", Text, nullable=False),
    Column("prompt_version", Integer, nullable=False),
    Column("tag", Text, nullable=False),
    _zero("count"),
    _zero("errors"),
    _zero("cache_hits"),
    _zero("latency_sum", Float),
    _zero("ttft_count"),
    _zero("ttft_sum", Float),
    Column("input_tokens", BigInteger, nullable=False, server_default="0"),
    Column("output_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cached_tokens", BigInteger, nullable=False, server_default="0"),
    _zero("cost", Float),
    _zero("cache_saved", Float),  # USD that cache hits saved (their `cache_saved_usd`)
    *(_zero(name) for name in LATENCY_BINS),
    *(_zero(name) for name in TTFT_BINS),
    Index("ux_span_rollups", "resolution", "bucket", *ROLLUP_DIMENSIONS, unique=True),
)
