"""Traces and their spans. A gateway call is a trace with one `llm` span (or more, joined to a
caller's trace by W3C traceparent)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

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
    Index("ix_spans_kind_start", "kind", "start_time"),
)
