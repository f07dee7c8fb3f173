"""OTLP/HTTP trace requests (protobuf or JSON) into plain `WireSpan`s.

OTLP/JSON differs from the generic protobuf JSON mapping: trace and span ids are hex strings, and
int64 values may be strings. Both encodings are read here without a JSON-to-protobuf detour, and
a malformed request is refused naming the field (`resourceSpans[0].scopeSpans[0].spans[2].traceId`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from llmdeck.errors import BadRequest

_KINDS = {"UNSPECIFIED": 0, "INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}


@dataclass(slots=True)
class WireSpan:
    """One OTLP span, decoded but not yet interpreted."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


def _any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def _attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pair: KeyValue
    for pair in pairs:
        found[pair.key] = _any_value(pair.value)
    return found


def from_protobuf(body: bytes) -> list[WireSpan]:
    """The spans of an `ExportTraceServiceRequest` in protobuf."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(f"not an OTLP ExportTraceServiceRequest in protobuf: {exc}") from None
    spans = []
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope.name
            for n, span in enumerate(scope_spans.spans):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                spans.append(
                    WireSpan(
                        trace_id=_bytes_id(span.trace_id, 16, f"{where}.traceId"),
                        span_id=_bytes_id(span.span_id, 8, f"{where}.spanId"),
                        parent_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=span.kind,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        events=[
                            (e.name, e.time_unix_nano, _attributes(e.attributes))
                            for e in span.events
                        ],
                        status_code=span.status.code,
                        status_message=span.status.message,
                        resource=resource,
                        scope=scope,
                    )
                )
    return spans


def _bytes_id(raw: bytes, size: int, where: str) -> str:
    if len(raw) != size or not any(raw):
        raise BadRequest(f"{where}: must be {size} bytes, not all zero", param=where)
    return raw.hex()


def _get(data: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    value = data.get(camel)
    return data.get(snake, default) if value is None else value


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue", "string_value", "bool_value"):
        if key in value:
            return value[key]
    for key in ("intValue", "int_value"):
        if key in value:
            return int(value[key])
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        return [_json_value(v) for v in array.get("values", [])]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return _json_attributes(kvlist.get("values", []))
    return _get(value, "bytesValue", "bytes_value")


def _json_attributes(pairs: Any) -> dict[str, Any]:
    return {p["key"]: _json_value(p.get("value")) for p in pairs or () if "key" in p}


def _json_id(value: Any, size: int, where: str, *, required: bool = True) -> str | None:
    if not value:
        if required:
            raise BadRequest(f"{where}: is required", param=where)
        return None
    text = str(value)
    if len(text) == 2 * size:
        try:
            bytes.fromhex(text)
            if int(text, 16):
                return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size and any(raw):
        return raw.hex()
    raise BadRequest(f"{where}: must be {2 * size} hex digits, not all zero", param=where)


def _json_kind(value: Any) -> int:
    if isinstance(value, str):
        return _KINDS.get(value.removeprefix("SPAN_KIND_"), 0)
    return int(value or 0)


def _json_status(status: dict[str, Any]) -> int:
    code = status.get("code", 0)
    if isinstance(code, str):
        return {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    return int(code)


def from_json(body: bytes) -> list[WireSpan]:
    """The spans of an `ExportTraceServiceRequest` in OTLP/JSON."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return list(_json_spans(data))
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(f"not an OTLP/JSON trace request: {exc}") from None


def _json_spans(data: dict[str, Any]) -> Any:
    for r, resource_spans in enumerate(_get(data, "resourceSpans", "resource_spans", [])):
        resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes"))
        for s, scope_spans in enumerate(_get(resource_spans, "scopeSpans", "scope_spans", [])):
            scope = (scope_spans.get("scope") or {}).get("name", "")
            for n, span in enumerate(scope_spans.get("spans", [])):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                trace_id = _json_id(_get(span, "traceId", "trace_id"), 16, f"{where}.traceId")
                span_id = _json_id(_get(span, "spanId", "span_id"), 8, f"{where}.spanId")
                parent = _get(span, "parentSpanId", "parent_span_id")
                yield WireSpan(
                    trace_id=trace_id or "",
                    span_id=span_id or "",
                    parent_id=_json_id(parent, 8, f"{where}.parentSpanId", required=False),
                    name=str(span.get("name", "")),
                    kind=_json_kind(span.get("kind")),
                    start_ns=int(_get(span, "startTimeUnixNano", "start_time_unix_nano", 0)),
                    end_ns=int(_get(span, "endTimeUnixNano", "end_time_unix_nano", 0)),
                    attributes=_json_attributes(span.get("attributes")),
                    events=[
                        (
                            str(e.get("name", "")),
                            int(_get(e, "timeUnixNano", "time_unix_nano", 0)),
                            _json_attributes(e.get("attributes")),
                        )
                        for e in span.get("events") or ()
                    ],
                    status_code=_json_status(span.get("status") or {}),
                    status_message=str((span.get("status") or {}).get("message", "")),
                    resource=resource,
                    scope=scope,
                )
