"""The Provider protocol: who to call and how to talk to it, for one deployment."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import aiohttp

from llmdeck.config import Deployment
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)

Fault = Literal["request", "deployment"]


class ProviderError(Exception):
    """An upstream attempt failed.

    `fault` says whose fault: "request" (the upstream refused the request itself, e.g. 400:
    retrying elsewhere would fail the same way) or "deployment" (timeouts, connection errors,
    429, 5xx, bad credentials: another deployment may succeed).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fault: Fault = "deployment",
        retry_after: float | None = None,
        timeout: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fault = fault
        self.retry_after = retry_after
        self.timeout = timeout


@dataclass(frozen=True)
class ProviderContext:
    """What providers share: one pooled HTTP session for the whole process."""

    session: aiohttp.ClientSession


class Provider(Protocol):
    """Talks to one deployment. Every method raises ProviderError on failure."""

    deployment: Deployment

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """A complete chat reply."""
        ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        """A streamed chat reply, chunk by chunk (OpenAI chunk shape)."""
        ...

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings of the request's inputs."""
        ...


ProviderFactory = Callable[[Deployment, ProviderContext], Provider]


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (dates are treated as unknown)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def status_error(
    status: int, detail: str, retry_after: str | None, deployment: str
) -> ProviderError:
    """The ProviderError for an upstream HTTP error status."""
    request_fault = status in (400, 413, 422)
    return ProviderError(
        f"{deployment} answered {status}: {detail[:500]}",
        status=status,
        fault="request" if request_fault else "deployment",
        retry_after=retry_after_seconds(retry_after),
    )
