"""The trace stage: when a call ends, its span goes to the metrics and the write-behind recorder.

A call made inside an SDK span in this process (RAG, evaluations) joins that span's trace."""

from __future__ import annotations

from typing import Any

from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.wire.openai import ChatRequest
from llmdeck.observe import Recorder, Span, current_span

_PARAMETERS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "seed", "stop")


class TraceStage:
    """Records every call as an `llm` (or `embedding`) span. Never raises into the request."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.metrics = recorder.metrics

    async def __call__(self, call: Call, next: Next) -> Reply:
        if call.parent_id is None:
            active = current_span()
            if active is not None:
                call.trace_id, call.parent_id = active.trace_id, active.id
        call.on_end(self._record)
        return await next(call)

    def _record(self, call: Call) -> None:
        span = span_of(call)
        self.metrics.observe(span)
        self.recorder.record(span)


def span_of(call: Call) -> Span:
    """The span that describes a finished call."""
    request = call.request
    usage = call.usage
    deployment = call.deployment
    attributes: dict[str, Any] = {"attempts": call.attempts} if len(call.attempts) > 1 else {}
    if call.route_reason:
        attributes["route"] = call.route_reason
    attributes.update(call.attributes)
    metadata = request.metadata
    return Span(
        id=call.span_id,
        trace_id=call.trace_id,
        parent_id=call.parent_id,
        name=f"{call.kind} {call.alias.name}",
        kind="llm" if call.kind == "chat" else "embedding",
        start_time=call.start_time,
        end_time=call.start_time + (call.latency or 0.0),
        status=call.status,
        error=call.error,
        model_alias=call.alias.name,
        model=deployment.model if deployment else None,
        deployment=deployment.name if deployment else None,
        provider=deployment.provider if deployment else None,
        key_id=call.principal.key_id,
        user_id=request.user,
        prompt_name=call.prompt_name,
        prompt_version=call.prompt_version,
        input_tokens=usage.prompt_tokens if usage else None,
        output_tokens=usage.completion_tokens if usage else None,
        cached_tokens=usage.cached_tokens if usage else None,
        cost=call.cost,
        latency_ms=(call.latency or 0.0) * 1000,
        ttft_ms=call.ttft * 1000 if call.ttft is not None else None,
        http_status=call.http_status,
        cache=call.cache,
        tags=request.tags,
        input=_input_of(request),
        output=_output_of(call),
        attributes=attributes,
        trace_metadata=metadata,
        session_id=_text(metadata, "session_id"),
        trace_name=_text(metadata, "trace_name"),
        parameters=_parameters(request),
    )


def _text(metadata: dict[str, Any] | None, key: str) -> str | None:
    value = metadata.get(key) if metadata else None
    return str(value) if value is not None else None


def _parameters(request: Any) -> dict[str, Any] | None:
    if not isinstance(request, ChatRequest):
        return None
    found = {k: v for k in _PARAMETERS if (v := getattr(request, k)) is not None}
    return found or None


def _input_of(request: Any) -> Any:
    if isinstance(request, ChatRequest):
        return [m.model_dump(exclude_none=True) for m in request.messages]
    return request.texts()


def _output_of(call: Call) -> Any:
    response = call.response
    if response is None or call.kind != "chat":
        return None
    choices = getattr(response, "choices", None) or []
    return choices[0].message.model_dump(exclude_none=True) if choices else None
