"""Span: one timed step of a trace (an LLM call, a retrieval, a tool, a guard, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

SpanKind = Literal[
    "llm", "embedding", "retrieval", "rerank", "tool", "chain", "guard", "cache", "agent", "other"
]


@dataclass(slots=True)
class Span:
    """A span as stored. Times are epoch seconds; `trace_*` fields describe the trace when this
    span is the first to reach the store for its trace."""

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

    def row(self) -> dict[str, Any]:
        """The `spans` table row. Values are shared with the span, not copied: rows are only
        written (a deep copy with `dataclasses.asdict` was most of the recorder's cost)."""
        return {name: getattr(self, name) for name in _ROW_FIELDS}

    def trace_row(self) -> dict[str, Any]:
        """The `traces` table row this span implies."""
        return {
            "id": self.trace_id,
            "name": self.trace_name or self.name,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "tags": self.tags,
            "metadata": self.trace_metadata,
            "input": self.input if self.parent_id is None else None,
            "output": self.output if self.parent_id is None else None,
            "start_time": self.start_time,
            "end_time": self.end_time,
        }


_TRACE_ONLY = ("session_id", "trace_name", "trace_metadata")
_ROW_FIELDS = tuple(f.name for f in fields(Span) if f.name not in _TRACE_ONLY)
