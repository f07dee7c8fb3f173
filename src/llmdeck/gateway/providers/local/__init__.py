"""The `local` provider: models that run in-process with no network and no keys.

- `extractive`: answers from the text in the request (see `extractive.py`).
- `default-embedding`: all-MiniLM-L6-v2 from an installed package, run with onnxruntime.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from llmdeck.config import Deployment
from llmdeck.errors import ConfigError, Problem
from llmdeck.gateway.providers.base import ProviderContext, ProviderError
from llmdeck.gateway.providers.local import extractive
from llmdeck.gateway.tokens import estimate_prompt, estimate_text
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    Message,
    Usage,
)
from llmdeck.hookspecs import hookimpl

CHAT_MODELS = ("extractive",)
EMBEDDING_MODELS = ("default-embedding",)
_PIECE = re.compile(r"\S+\s*")


class LocalProvider:
    """Serves the local models of one deployment."""

    def __init__(self, deployment: Deployment, context: ProviderContext) -> None:
        if deployment.model not in CHAT_MODELS + EMBEDDING_MODELS:
            known = ", ".join(CHAT_MODELS + EMBEDDING_MODELS)
            raise ConfigError(
                [
                    Problem(
                        f"deployment {deployment.name}",
                        f"unknown local model {deployment.model!r}; known: {known}",
                    )
                ]
            )
        self.deployment = deployment

    def _reply(self, request: ChatRequest) -> tuple[str, Usage]:
        if self.deployment.model not in CHAT_MODELS:
            raise ProviderError(f"{self.deployment.name} is an embedding model", fault="request")
        limit = request.output_limit()
        found = extractive.answer(request, max_chars=limit * 4 if limit else None)
        text = found.text
        for stop in request.stop_list():
            if stop and stop in text:
                text = text[: text.index(stop)]
        return text, Usage.of(estimate_prompt(request), estimate_text(text))

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """The extractive answer in one piece."""
        text, usage = self._reply(request)
        return ChatResponse(
            id=_completion_id(),
            model=self.deployment.model,
            choices=[Choice(message=Message(role="assistant", content=text), finish_reason="stop")],
            usage=usage,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """The extractive answer, a word or two a chunk."""
        text, usage = self._reply(request)
        ident, model = _completion_id(), self.deployment.model
        yield ChatChunk(
            id=ident, model=model, choices=[ChunkChoice(delta=Delta(role="assistant", content=""))]
        )
        for piece in _PIECE.findall(text):
            await asyncio.sleep(0)
            yield ChatChunk(
                id=ident, model=model, choices=[ChunkChoice(delta=Delta(content=piece))]
            )
        yield ChatChunk(id=ident, model=model, choices=[ChunkChoice(finish_reason="stop")])
        yield ChatChunk(id=ident, model=model, choices=[], usage=usage)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings from the local model, computed off the event loop."""
        if self.deployment.model not in EMBEDDING_MODELS:
            raise ProviderError(
                f"{self.deployment.name} is not an embedding model", fault="request"
            )
        from llmdeck.gateway.providers.local.embedding import get_embedder

        if not isinstance(request.input, str) and any(
            not isinstance(x, str) for x in request.input
        ):
            # Token ids of another tokenizer cannot be read back into text here (LangChain's
            # OpenAIEmbeddings sends tiktoken ids unless told not to).
            raise ProviderError(
                "input: the local embedding model takes text, not token ids (LangChain's "
                "OpenAIEmbeddings: pass check_embedding_ctx_length=False)",
                status=400,
                fault="request",
            )
        texts = request.texts()
        embedder = await asyncio.to_thread(get_embedder)
        vectors = await asyncio.to_thread(embedder.embed, texts)
        tokens = await asyncio.to_thread(embedder.count_tokens, texts)
        if request.dimensions:
            vectors = vectors[:, : request.dimensions]
        data = [
            Embedding(index=i, embedding=_encode(vector, request.encoding_format))
            for i, vector in enumerate(vectors)
        ]
        return EmbeddingResponse(
            data=data, model=self.deployment.model, usage=Usage.of(sum(tokens), 0)
        )


def _encode(vector: Any, encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector.tolist()]


def _completion_id() -> str:
    return f"chatcmpl-{os.urandom(12).hex()}"


@hookimpl
def register_providers(register: Callable[[str, Any], None]) -> None:
    """The `local` provider."""
    register("local", LocalProvider)


__all__ = ["LocalProvider"]
