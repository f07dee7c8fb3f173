"""OpenAI-compatible deployments: OpenAI, vLLM, Ollama, llama.cpp, Groq, Together, ..."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from llmdeck.config import Deployment
from llmdeck.gateway.providers.base import ProviderContext, ProviderError
from llmdeck.gateway.providers.http import open_stream, parse_json, post_json, sse_data
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from llmdeck.hookspecs import hookimpl

DEFAULT_BASE = "https://api.openai.com/v1"
T = TypeVar("T")


class OpenAIProvider:
    """Chat completions and embeddings over the OpenAI HTTP API."""

    def __init__(self, deployment: Deployment, context: ProviderContext) -> None:
        self.deployment = deployment
        self.session = context.session
        self.base = deployment.api_base or DEFAULT_BASE
        self.headers = {"content-type": "application/json", **deployment.headers}
        if deployment.api_key is not None:
            self.headers["authorization"] = f"Bearer {deployment.api_key.get_secret_value()}"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """POST /chat/completions."""
        body = request.upstream_body(self.deployment.model)
        body.pop("stream_options", None)
        body["stream"] = False
        raw = await self._post("/chat/completions", body)
        return self._validate(ChatResponse.model_validate_json, raw)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """POST /chat/completions with stream=true, always asking for the final usage chunk."""
        body = request.upstream_body(self.deployment.model)
        body["stream"] = True
        body["stream_options"] = {**(request.stream_options or {}), "include_usage": True}
        name = self.deployment.name
        response = await open_stream(
            self.session,
            self.base + "/chat/completions",
            body,
            headers=self.headers,
            timeout=self.deployment.timeout,
            deployment=name,
        )
        async for data in sse_data(response, name):
            payload = parse_json(data, name)
            if isinstance(payload, dict) and payload.get("error"):
                error = payload["error"]
                detail = error.get("message") if isinstance(error, dict) else str(error)
                raise ProviderError(f"{name} stream error: {detail}")
            yield self._validate(ChatChunk.model_validate, payload)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """POST /embeddings."""
        raw = await self._post("/embeddings", request.upstream_body(self.deployment.model))
        return self._validate(EmbeddingResponse.model_validate_json, raw)

    async def _post(self, path: str, body: dict[str, Any]) -> bytes:
        return await post_json(
            self.session,
            self.base + path,
            body,
            headers=self.headers,
            timeout=self.deployment.timeout,
            deployment=self.deployment.name,
        )

    def _validate(self, parse: Callable[[Any], T], raw: Any) -> T:
        try:
            return parse(raw)
        except ValidationError as exc:
            raise ProviderError(f"{self.deployment.name} sent an unexpected body: {exc}") from None


@hookimpl
def register_providers(register: Callable[[str, Any], None]) -> None:
    """The `openai` provider."""
    register("openai", OpenAIProvider)
