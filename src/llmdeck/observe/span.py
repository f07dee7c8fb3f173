"""Span, Score and Event: what observability records.

A span is one timed step of a trace (an LLM call, a retrieval, a tool, a guard, ...); a score is a
judgement on a trace or one of its spans; an event is something that happened in the system (a
circuit opened, a budget ran low), optionally tied to a trace.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

SpanKind = Literal[
    "llm", "embedding", "retrieval", "rerank", "tool", "chain", "guard", "cache", "agent", "other"
]
SPAN_KINDS: tuple[str, ...] = SpanKind.__args__  # type: ignore[attr-defined]
ScoreType = Literal["numeric", "boolean", "categorical"]
ScoreSource = Literal["user", "evaluator", "detector", "api"]
EventLevel = Literal["debug", "info", "warning", "error"]
VIA_GATEWAY = "via_gateway"
"""The span attribute that says a llmdeck gateway answered this span's call and recorded its own
span for it: analytics count the call (its tokens and cost) once, from the gateway's span."""


@dataclass(slots=True)
class Span:
    """A span as stored. Times are epoch seconds. The `trace_*` and `session_id` fields describe
    the trace: a root span's values win, other spans fill in what is still missing."""

    id: str
    trace_id: str
    name: str
    kind: SpanKind
    start_time: float
    end_time: float | None = None
    parent_id: str | None = None
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    model_alias: str | None = None
    model: str | None = None
    deployment: str | None = None
    provider: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cost: float | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    http_status: int | None = None
    cache: str | None = None
    tags: list[str] | None = None
    input: Any = None
    output: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    trace_name: str | None = None
    trace_metadata: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """The `spans` table row."""
        return {
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "kind": self.kind,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "status": self.status,
            "error": self.error,
            "model_alias": self.model_alias,
            "model": self.model,
            "deployment": self.deployment,
            "provider": self.provider,
            "key_id": self.key_id,
            "user_id": self.user_id,
            "prompt_name": self.prompt_name,
            "prompt_version": self.prompt_version,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost": self.cost,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "http_status": self.http_status,
            "cache": self.cache,
            "tags": self.tags,
            "input": self.input,
            "output": self.output,
            "attributes": self.attributes or None,
            "parameters": self.parameters,
        }

    def trace_row(self) -> dict[str, Any]:
        """The `traces` row this span implies on its own (the recorder merges them)."""
        return {
            "id": self.trace_id,
            "name": self.trace_name or self.name,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "tags": self.tags,
            "metadata": self.trace_metadata,
            "input": self.input,
            "output": self.output,
            "start_time": self.start_time,
            "end_time": self.end_time if self.end_time is not None else self.start_time,
            "root_span_id": self.id if self.parent_id is None else None,
            "status": self.status,
            "span_count": 1,
            "input_tokens": self.input_tokens or 0,
            "output_tokens": self.output_tokens or 0,
            "cost": self.cost or 0.0,
        }

    @property
    def duration_ms(self) -> float | None:
        """`latency_ms`, or end minus start."""
        if self.latency_ms is not None:
            return self.latency_ms
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) * 1000


def new_id() -> str:
    """A random 32-hex-digit id (for scores and events)."""
    return os.urandom(16).hex()


@dataclass(slots=True)
class Score:
    """A judgement on a trace (or one of its spans): a number, a boolean or a category."""

    trace_id: str
    name: str
    data_type: ScoreType
    value: float | None = None
    string_value: str | None = None
    span_id: str | None = None
    source: ScoreSource = "api"
    comment: str | None = None
    metadata: dict[str, Any] | None = None
    key_id: str | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def row(self) -> dict[str, Any]:
        """The `scores` table row."""
        return {
            "id": self.id,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "name": self.name,
            "data_type": self.data_type,
            "value": self.value,
            "string_value": self.string_value,
            "source": self.source,
            "comment": self.comment,
            "metadata": self.metadata,
            "key_id": self.key_id,
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class Event:
    """Something that happened: `name` is dotted (`circuit.open`, `budget.warning`)."""

    name: str
    level: EventLevel = "info"
    message: str | None = None
    source: str | None = None
    attributes: dict[str, Any] | None = None
    trace_id: str | None = None
    span_id: str | None = None
    time: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def row(self) -> dict[str, Any]:
        """The `events` table row."""
        return {
            "id": self.id,
            "time": self.time,
            "name": self.name,
            "level": self.level,
            "source": self.source,
            "message": self.message,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "attributes": self.attributes,
        }
