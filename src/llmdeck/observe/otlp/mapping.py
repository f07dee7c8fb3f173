"""Interpret OTLP spans: OpenTelemetry GenAI conventions, OpenInference, and llmdeck's own.

Attributes that become span fields are consumed; what is left stays in `Span.attributes`, with
the resource's `service.name` as `service` and other span events under `events`.
llmdeck's own `llmdeck.*` attributes (what its exporter and SDK send) win over the conventions.
"""

from __future__ import annotations

import re
from typing import Any

from llmdeck.observe.otlp.decode import WireSpan
from llmdeck.observe.otlp.messages import input_and_output, maybe_json
from llmdeck.observe.span import SPAN_KINDS, Span, SpanKind

_OPENINFERENCE_KINDS: dict[str, SpanKind] = {
    "LLM": "llm",
    "EMBEDDING": "embedding",
    "RETRIEVER": "retrieval",
    "RERANKER": "rerank",
    "TOOL": "tool",
    "CHAIN": "chain",
    "GUARDRAIL": "guard",
    "AGENT": "agent",
    "EVALUATOR": "other",
}
_OPERATION_KINDS: dict[str, SpanKind] = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "completion": "llm",
    "embeddings": "embedding",
    "embedding": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "retrieval": "retrieval",
    "rerank": "rerank",
}
_PARAMETER = re.compile(r"^gen_ai\.request\.(?!model$)(.+)$")


def _pop(attrs: dict[str, Any], *keys: str) -> Any:
    """The first present value among `keys`; every one of them is consumed."""
    found = None
    for key in keys:
        value = attrs.pop(key, None)
        if found is None and value is not None and value != "":
            found = value
    return found


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _kind(attrs: dict[str, Any]) -> SpanKind:
    explicit = _pop(attrs, "llmdeck.span.kind")
    openinference = _pop(attrs, "openinference.span.kind")
    operation = attrs.pop("gen_ai.operation.name", None)
    if explicit in SPAN_KINDS:
        return explicit  # type: ignore[no-any-return]
    if isinstance(openinference, str) and openinference.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[openinference.upper()]
    if isinstance(operation, str) and operation in _OPERATION_KINDS:
        return _OPERATION_KINDS[operation]
    if any(key.startswith(("gen_ai.usage", "llm.token_count")) for key in attrs):
        return "llm"
    return "other"


def _tags(attrs: dict[str, Any]) -> list[str] | None:
    value = maybe_json(_pop(attrs, "llmdeck.tags", "tag.tags", "langfuse.trace.tags"))
    if isinstance(value, str):
        value = [value]
    return [str(tag) for tag in value] if isinstance(value, list) and value else None


def _parameters(attrs: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    invocation = maybe_json(attrs.pop("llm.invocation_parameters", None))
    if isinstance(invocation, dict):
        found.update(invocation)
    for key in [k for k in attrs if _PARAMETER.match(k)]:
        found[key.removeprefix("gen_ai.request.")] = attrs.pop(key)
    explicit = maybe_json(attrs.pop("llmdeck.parameters", None))
    if isinstance(explicit, dict):
        found.update(explicit)
    return found or None


def _error(wire: WireSpan) -> str | None:
    if wire.status_code != 2:
        return None
    if wire.status_message:
        return wire.status_message
    for name, _, attrs in wire.events:
        if name == "exception":
            kind, message = attrs.get("exception.type"), attrs.get("exception.message")
            return ": ".join(str(p) for p in (kind, message) if p) or "error"
    return "error"


def _usage(attrs: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    inputs = _int(
        _pop(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        )
    )
    outputs = _int(
        _pop(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        )
    )
    cached = _int(
        _pop(
            attrs,
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        )
    )
    _pop(attrs, "llm.token_count.total", "gen_ai.usage.total_tokens")
    return inputs, outputs, cached


def to_span(wire: WireSpan) -> Span:
    """The llmdeck span for one OTLP span."""
    attrs = dict(wire.attributes)
    kind = _kind(attrs)
    inputs, outputs, cached = _usage(attrs)
    start = wire.start_ns / 1e9
    end = wire.end_ns / 1e9 if wire.end_ns else None
    model = _pop(attrs, "gen_ai.response.model", "llm.model_name", "gen_ai.request.model")
    metadata = maybe_json(_pop(attrs, "llmdeck.trace.metadata", "metadata"))
    span_input, span_output, leftover_events = input_and_output(kind, attrs, wire.events)
    span = Span(
        id=wire.span_id,
        trace_id=wire.trace_id,
        parent_id=wire.parent_id,
        name=wire.name or kind,
        kind=kind,
        start_time=start,
        end_time=end,
        status="error" if wire.status_code == 2 else "ok",
        error=_error(wire),
        model_alias=_str(_pop(attrs, "llmdeck.model_alias")),
        model=_str(model),
        deployment=_str(_pop(attrs, "llmdeck.deployment")),
        provider=_str(
            _pop(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
        ),
        key_id=_str(_pop(attrs, "llmdeck.key_id")),
        user_id=_str(_pop(attrs, "user.id", "enduser.id", "langfuse.user.id", "llmdeck.user_id")),
        prompt_name=_str(_pop(attrs, "llmdeck.prompt.name", "langfuse.prompt.name")),
        prompt_version=_int(
            _pop(
                attrs,
                "llmdeck.prompt.version",
                "langfuse.prompt.version",
                "llm.prompt_template.version",
            )
        ),
        input_tokens=inputs,
        output_tokens=outputs,
        cached_tokens=cached,
        cost=_float(_pop(attrs, "llmdeck.cost", "llm.cost.total", "gen_ai.usage.cost")),
        latency_ms=(wire.end_ns - wire.start_ns) / 1e6 if end else None,
        ttft_ms=_float(_pop(attrs, "llmdeck.ttft_ms", "gen_ai.response.time_to_first_chunk")),
        http_status=_int(_pop(attrs, "llmdeck.http_status", "http.response.status_code")),
        cache=_str(_pop(attrs, "llmdeck.cache")),
        tags=_tags(attrs),
        input=span_input,
        output=span_output,
        session_id=_str(
            _pop(
                attrs,
                "session.id",
                "gen_ai.conversation.id",
                "langfuse.session.id",
                "llmdeck.session_id",
            )
        ),
        trace_name=_str(_pop(attrs, "llmdeck.trace.name", "langfuse.trace.name")),
        trace_metadata=metadata if isinstance(metadata, dict) else None,
        parameters=_parameters(attrs),
    )
    span.attributes = _leftover(attrs, wire, leftover_events)
    return span


def _leftover(
    attrs: dict[str, Any], wire: WireSpan, events: list[tuple[str, int, dict[str, Any]]]
) -> dict[str, Any]:
    for key in [k for k in attrs if k.startswith("llmdeck.")]:
        attrs[key.removeprefix("llmdeck.")] = maybe_json(attrs.pop(key))
    service = wire.resource.get("service.name")
    if service and service != "llmdeck":
        attrs["service"] = service
    if events:
        attrs["events"] = [
            {"name": name, "time": ns / 1e9, "attributes": event_attrs}
            for name, ns, event_attrs in events
        ]
    return attrs
