"""POST /ui/api/chat/completions: the playground's calls, as the signed-in principal.

The body and the reply are those of `/v1/chat/completions` (streamed as SSE when asked), and the
call runs through the same gateway stages: prompt rendering, guards, cache, routing, cost and a
trace. Only the credential differs: the UI session (with its CSRF token) instead of a bearer key.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.gateway import Gateway
from llmdeck.gateway.render import openai_sse
from llmdeck.gateway.routes import event_stream, reply_headers
from llmdeck.gateway.wire.openai import ChatRequest, ChatResponse, EmbeddingResponse
from llmdeck.server.access import principal_of
from llmdeck.web import json_response, parse_model, read_body


def chat_routes(gateway: Gateway) -> list[BaseRoute]:
    """The playground's chat endpoint."""
    limit = gateway.settings.server.max_body_bytes

    async def chat(request: Request) -> Response:
        principal = await principal_of(request.scope, gateway.auth)
        body = parse_model(ChatRequest, await read_body(request, limit))
        call = gateway.new_call("chat", body, principal)
        reply = await gateway.handle(call)
        if isinstance(reply, ChatResponse | EmbeddingResponse):
            return json_response(reply, headers=reply_headers(call))
        return event_stream(openai_sse(call, reply), call)

    return [Route("/ui/api/chat/completions", chat, methods=["POST"])]
