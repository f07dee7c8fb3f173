"""/v1/*: parse the request, open a Call, run it through the gateway, render the reply."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.gateway.auth import bearer
from llmdeck.gateway.call import Call
from llmdeck.gateway.gateway import Gateway
from llmdeck.gateway.render import anthropic_sse, openai_sse
from llmdeck.gateway.router import TIMEOUT_HEADER, request_timeout
from llmdeck.gateway.wire.anthropic import MessagesRequest, from_chat_response, to_chat_request
from llmdeck.gateway.wire.openai import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from llmdeck.web import EventStream, json_response, parse_model, read_body

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The OpenAI- and Anthropic-shaped endpoints (also without the /v1 prefix)."""
    limit = gateway.settings.server.max_body_bytes

    async def chat_completions(request: Request) -> Response:
        chat = parse_model(ChatRequest, await read_body(request, limit))
        call = await gateway.open_call(
            "chat", chat, api_key=bearer(request.headers.get("authorization"))
        )
        _join_trace(call, request)
        reply = await gateway.handle(call)
        if isinstance(reply, ChatResponse | EmbeddingResponse):
            return json_response(reply, headers=reply_headers(call))
        return event_stream(openai_sse(call, reply), call)

    async def messages(request: Request) -> Response:
        incoming = parse_model(MessagesRequest, await read_body(request, limit))
        secret = request.headers.get("x-api-key") or bearer(request.headers.get("authorization"))
        call = await gateway.open_call(
            "chat", to_chat_request(incoming), api_key=secret, shape="anthropic"
        )
        _join_trace(call, request)
        reply = await gateway.handle(call)
        if isinstance(reply, EmbeddingResponse):
            raise TypeError("a chat call got an embedding reply")
        if isinstance(reply, ChatResponse):
            return json_response(
                from_chat_response(reply, incoming.model), headers=reply_headers(call)
            )
        return event_stream(anthropic_sse(call, reply), call)

    async def embeddings(request: Request) -> Response:
        body = parse_model(EmbeddingRequest, await read_body(request, limit))
        call = await gateway.open_call(
            "embeddings", body, api_key=bearer(request.headers.get("authorization"))
        )
        _join_trace(call, request)
        reply = await gateway.handle(call)
        return json_response(reply, headers=reply_headers(call))

    async def models(request: Request) -> Response:
        principal = await gateway.auth.authenticate(bearer(request.headers.get("authorization")))
        created = int(time.time())
        data = [
            {"id": m.name, "object": "model", "created": created, "owned_by": "llmdeck"}
            for m in gateway.settings.models
            if principal.may_use(m.name)
        ]
        return json_response({"object": "list", "data": data})

    table = [
        ("/chat/completions", chat_completions, "POST"),
        ("/messages", messages, "POST"),
        ("/embeddings", embeddings, "POST"),
        ("/models", models, "GET"),
    ]
    return [
        Route(prefix + path, fn, methods=[method])
        for prefix in ("/v1", "")
        for path, fn, method in table
    ]


def _join_trace(call: Call, request: Request) -> None:
    """Join the caller's trace when the request carries a W3C traceparent; honour cache hints
    and the client's deadline."""
    headers = request.headers
    match = _TRACEPARENT.match(headers.get("traceparent", ""))
    if match and match.group(1) != "0" * 32:
        call.trace_id, call.parent_id = match.group(1), match.group(2)
    call.cache_control = headers.get("x-llmdeck-cache")
    call.timeout = request_timeout(headers.get(TIMEOUT_HEADER))


def reply_headers(call: Call) -> dict[str, str]:
    """The x-llmdeck-* response headers of a call."""
    headers = {"x-llmdeck-trace-id": call.trace_id}
    if call.deployment is not None:
        headers["x-llmdeck-deployment"] = call.deployment.name
    if call.cache is not None:
        headers["x-llmdeck-cache"] = call.cache
    return headers


def event_stream(body: AsyncIterator[bytes], call: Call) -> EventStream:
    """A streamed reply with the SSE and llmdeck headers."""
    return EventStream(body, headers={**_SSE_HEADERS, **reply_headers(call)})


__all__ = ["event_stream", "reply_headers", "routes"]
