"""The trace stage: when a call ends, its span goes to the write-behind recorder."""

from __future__ import annotations

from typing import Any

from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.wire.openai import ChatRequest
from llmdeck.observe import Recorder, Span


class TraceStage:
    """Records every call as an `llm` (or `embedding`) span. Never raises into the request."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def __call__(self, call: Call, next: Next) -> Reply:
        call.on_end(self._record)
        return await next(call)

    def _record(self, call: Call) -> None:
        self.recorder.record(span_of(call))


def span_of(call: Call) -> Span:
    """The span that describes a finished call."""
    request = call.request
    usage = call.usage
    deployment = call.deployment
    attributes: dict[str, Any] = {"attempts": call.attempts} if len(call.attempts) > 1 else {}
    if call.route_reason:
        attributes["route"] = call.route_reason
    attributes.update(call.attributes)
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
        trace_metadata=request.metadata,
    )


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
