"""llmdeck spans as OTLP, with both the OpenTelemetry GenAI and the OpenInference attributes (and
llmdeck's own, so that llmdeck reads its spans back exactly), cost included. Used by the SDK and
by the exporter that forwards spans to an external collector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from llmdeck.observe.span import Span

_OPENINFERENCE = {
    "llm": "LLM",
    "embedding": "EMBEDDING",
    "retrieval": "RETRIEVER",
    "rerank": "RERANKER",
    "tool": "TOOL",
    "chain": "CHAIN",
    "guard": "GUARDRAIL",
    "agent": "AGENT",
    "cache": "CHAIN",
    "other": "CHAIN",
}
_OPERATIONS = {
    "llm": "chat",
    "embedding": "embeddings",
    "tool": "execute_tool",
    "agent": "invoke_agent",
    "retrieval": "retrieval",
}
_OWN = (
    "model_alias", "deployment", "key_id", "cache", "http_status", "ttft_ms", "cost",
)  # fmt: skip


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _text(value: Any) -> tuple[str, str]:
    """(value, mime type) for input.value/output.value."""
    if isinstance(value, str):
        return value, "text/plain"
    return _dumps(value), "application/json"


def _genai_messages(messages: list[Any]) -> list[Any]:
    out = []
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            parts = [{"type": "text", "content": message["content"]}]
            rest = {k: v for k, v in message.items() if k != "content"}
            out.append({**rest, "parts": parts})
        else:
            out.append(message)
    return out


def _messages(attrs: dict[str, Any], side: str, value: Any) -> None:
    messages = value if isinstance(value, list) else [value]
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return
    attrs[f"gen_ai.{side}.messages"] = _dumps(_genai_messages(messages))
    for index, message in enumerate(messages):
        prefix = f"llm.{side}_messages.{index}.message"
        attrs[f"{prefix}.role"] = message["role"]
        if isinstance(message.get("content"), str):
            attrs[f"{prefix}.content"] = message["content"]


def _content(attrs: dict[str, Any], span: Span) -> None:
    for side, value in (("input", span.input), ("output", span.output)):
        if value is None:
            continue
        attrs[f"{side}.value"], attrs[f"{side}.mime_type"] = _text(value)
        if span.kind == "llm":
            _messages(attrs, side, value)
    if span.kind == "retrieval" and isinstance(span.output, list):
        for index, doc in enumerate(span.output):
            if isinstance(doc, dict):
                for key in ("id", "content", "score"):
                    if doc.get(key) is not None:
                        attrs[f"retrieval.documents.{index}.document.{key}"] = doc[key]


def _model(attrs: dict[str, Any], span: Span) -> None:
    if span.provider:
        attrs["gen_ai.provider.name"] = attrs["gen_ai.system"] = span.provider
        attrs["llm.provider"] = span.provider
    if span.model:
        attrs["gen_ai.request.model"] = attrs["gen_ai.response.model"] = span.model
        attrs["llm.model_name"] = span.model
    if span.input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = attrs["llm.token_count.prompt"] = span.input_tokens
    if span.output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = span.output_tokens
        attrs["llm.token_count.completion"] = span.output_tokens
    if span.input_tokens is not None or span.output_tokens is not None:
        attrs["llm.token_count.total"] = (span.input_tokens or 0) + (span.output_tokens or 0)
    if span.cached_tokens:
        attrs["gen_ai.usage.cache_read.input_tokens"] = span.cached_tokens
        attrs["llm.token_count.prompt_details.cache_read"] = span.cached_tokens
    if span.cost is not None:
        attrs["llm.cost.total"] = span.cost
    for key, value in (span.parameters or {}).items():
        if isinstance(value, str | int | float | bool):
            attrs[f"gen_ai.request.{key}"] = value
    if span.parameters:
        attrs["llm.invocation_parameters"] = _dumps(span.parameters)


def attributes_of(span: Span) -> dict[str, Any]:
    """Every attribute an exported span carries."""
    attrs: dict[str, Any] = {
        key: value if isinstance(value, str | int | float | bool) else _dumps(value)
        for key, value in span.attributes.items()
        if value is not None
    }
    attrs["llmdeck.span.kind"] = span.kind
    attrs["openinference.span.kind"] = _OPENINFERENCE[span.kind]
    if span.kind in _OPERATIONS:
        attrs["gen_ai.operation.name"] = _OPERATIONS[span.kind]
    _model(attrs, span)
    _content(attrs, span)
    for key in _OWN:
        value = getattr(span, key)
        if value is not None:
            attrs[f"llmdeck.{key}"] = value
    if span.prompt_name:
        attrs["llmdeck.prompt.name"] = span.prompt_name
    if span.prompt_version is not None:
        attrs["llmdeck.prompt.version"] = span.prompt_version
    if span.session_id:
        attrs["session.id"] = attrs["gen_ai.conversation.id"] = span.session_id
    if span.user_id:
        attrs["user.id"] = span.user_id
    if span.tags:
        attrs["tag.tags"] = list(span.tags)
    if span.trace_name:
        attrs["llmdeck.trace.name"] = span.trace_name
    if span.trace_metadata:
        attrs["metadata"] = _dumps(span.trace_metadata)
    return attrs


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        any_values = [_any(v) for v in value]
        out = AnyValue()
        out.array_value.values.extend(any_values)
        return out
    return AnyValue(string_value=str(value))


def _proto_span(span: Span) -> ProtoSpan:
    end = span.end_time if span.end_time is not None else span.start_time
    proto = ProtoSpan(
        trace_id=bytes.fromhex(span.trace_id),
        span_id=bytes.fromhex(span.id),
        parent_span_id=bytes.fromhex(span.parent_id) if span.parent_id else b"",
        name=span.name,
        kind=ProtoSpan.SPAN_KIND_CLIENT
        if span.kind in ("llm", "embedding")
        else ProtoSpan.SPAN_KIND_INTERNAL,
        start_time_unix_nano=int(span.start_time * 1e9),
        end_time_unix_nano=int(end * 1e9),
        attributes=[KeyValue(key=k, value=_any(v)) for k, v in attributes_of(span).items()],
    )
    if span.status == "error":
        proto.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=span.error or ""))
    return proto


def to_protobuf(spans: Sequence[Span], service: str = "llmdeck") -> bytes:
    """An OTLP ExportTraceServiceRequest in protobuf."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value=service))
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "llmdeck"
    scope_spans.spans.extend(_proto_span(span) for span in spans)
    data: bytes = request.SerializeToString()
    return data


def _json_any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_json_any(v) for v in value]}}
    return {"stringValue": str(value)}


def _json_span(span: Span) -> dict[str, Any]:
    end = span.end_time if span.end_time is not None else span.start_time
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.id,
        "name": span.name,
        "kind": 3 if span.kind in ("llm", "embedding") else 1,
        "startTimeUnixNano": str(int(span.start_time * 1e9)),
        "endTimeUnixNano": str(int(end * 1e9)),
        "attributes": [{"key": k, "value": _json_any(v)} for k, v in attributes_of(span).items()],
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    if span.status == "error":
        out["status"] = {"code": 2, "message": span.error or ""}
    return out


def to_json(spans: Sequence[Span], service: str = "llmdeck") -> bytes:
    """An OTLP ExportTraceServiceRequest in OTLP/JSON."""
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [
                    {"scope": {"name": "llmdeck"}, "spans": [_json_span(s) for s in spans]}
                ],
            }
        ]
    }
    return orjson.dumps(body)
