"""Anthropic deployments, over the Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from llmdeck.config import Deployment
from llmdeck.gateway.providers.base import ProviderContext, ProviderError
from llmdeck.gateway.providers.http import open_stream, parse_json, post_json, sse_data
from llmdeck.gateway.wire.anthropic import ChunksFromEvents, from_chat_request, to_chat_response
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from llmdeck.hookspecs import hookimpl

DEFAULT_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicProvider:
    """Chat through POST /v1/messages; requests and replies are translated from and to the
    gateway's OpenAI form."""

    def __init__(self, deployment: Deployment, context: ProviderContext) -> None:
        self.deployment = deployment
        self.session = context.session
        self.url = (deployment.api_base or DEFAULT_BASE).removesuffix("/v1") + "/v1/messages"
        self.headers = {
            "content-type": "application/json",
            "anthropic-version": API_VERSION,
            **deployment.headers,
        }
        if deployment.api_key is not None:
            self.headers["x-api-key"] = deployment.api_key.get_secret_value()

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """A complete reply."""
        body = from_chat_request(request, self.deployment.model)
        body.pop("stream", None)
        raw = await post_json(
            self.session,
            self.url,
            body,
            headers=self.headers,
            timeout=self.deployment.timeout,
            deployment=self.deployment.name,
        )
        payload = parse_json(raw, self.deployment.name)
        if not isinstance(payload, dict) or payload.get("type") == "error":
            raise ProviderError(f"{self.deployment.name} sent an unexpected body: {raw[:200]!r}")
        return to_chat_response(payload)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """A streamed reply, event by event."""
        body = from_chat_request(request, self.deployment.model)
        body["stream"] = True
        name = self.deployment.name
        response = await open_stream(
            self.session,
            self.url,
            body,
            headers=self.headers,
            timeout=self.deployment.timeout,
            deployment=name,
        )
        translate = ChunksFromEvents(self.deployment.model)
        async for data in sse_data(response, name):
            event = parse_json(data, name)
            if not isinstance(event, dict):
                continue
            if event.get("type") == "error":
                detail = (event.get("error") or {}).get("message", "unknown error")
                raise ProviderError(f"{name} stream error: {detail}")
            for chunk in translate.feed(event):
                yield chunk

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Anthropic has no embeddings API."""
        raise ProviderError(
            f"{self.deployment.name}: the anthropic provider has no embeddings", fault="request"
        )


@hookimpl
def register_providers(register: Callable[[str, Any], None]) -> None:
    """The `anthropic` provider."""
    register("anthropic", AnthropicProvider)
