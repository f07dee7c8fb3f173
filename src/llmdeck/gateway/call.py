"""The Call: one LLM request as it passes through the gateway's stages, and what became of it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from llmdeck.config import Deployment, ModelAlias
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Usage,
)

Kind = Literal["chat", "embeddings"]
Shape = Literal["openai", "anthropic"]


CLIENT_CLOSED = 499  # nginx's status for a client that went away before the reply


def _status_of(error: BaseException) -> int:
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return CLIENT_CLOSED
    status = getattr(error, "status", None)
    if isinstance(status, int) and status >= 400:
        return status
    return 502 if getattr(error, "fault", None) else 500


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a virtual key, the admin key, or anyone on an open loopback server."""

    key_id: str | None
    name: str
    admin: bool = False
    team: str | None = None
    models: frozenset[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def may_use(self, alias: str) -> bool:
        """Whether this principal may call the model alias."""
        return self.models is None or alias in self.models


OPEN = Principal(key_id=None, name="open", admin=True)


ChunkStream = AsyncGenerator[ChatChunk, None]
"""A streamed reply: chat chunks, closable early (when the client goes away)."""


Reply = ChatResponse | EmbeddingResponse | ChunkStream


def new_trace_id() -> str:
    """A W3C trace id (32 hex digits)."""
    return os.urandom(16).hex()


def new_span_id() -> str:
    """A W3C span id (16 hex digits)."""
    return os.urandom(8).hex()


@dataclass(eq=False, slots=True)
class Call:
    """One request through the gateway. Stages read the request and fill in the outcome.

    `on_end` callbacks run once, when the reply is complete: right after a complete reply,
    or when a stream ends, fails or is abandoned by its client.
    """

    kind: Kind
    request: ChatRequest | EmbeddingRequest
    alias: ModelAlias
    principal: Principal = OPEN
    shape: Shape = "openai"
    api_key: str | None = None
    trace_id: str = field(default_factory=new_trace_id)
    span_id: str = field(default_factory=new_span_id)
    parent_id: str | None = None
    start_time: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    cache_control: str | None = None
    timeout: float | None = None  # the client's own deadline in seconds (x-llmdeck-timeout)
    # outcome
    deployment: Deployment | None = None
    route_reason: str = ""
    attempts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    cost: float | None = None
    ttft: float | None = None
    latency: float | None = None
    cache: str | None = None
    status: Literal["ok", "error"] = "ok"
    http_status: int = 200
    error: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    response: ChatResponse | EmbeddingResponse | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    _on_end: list[Callable[[Call], None]] = field(default_factory=list)
    _ended: bool = False

    @property
    def chat(self) -> ChatRequest:
        """The request of a chat call."""
        assert isinstance(self.request, ChatRequest), "not a chat call"
        return self.request

    @property
    def streaming(self) -> bool:
        """Whether the client asked for a stream."""
        return isinstance(self.request, ChatRequest) and self.request.stream

    def on_end(self, callback: Callable[[Call], None]) -> None:
        """Run `callback(call)` when the call ends (callbacks run last-registered first)."""
        self._on_end.append(callback)

    def end(self, error: BaseException | None = None) -> None:
        """Finish the call once: set latency and status, then run the callbacks."""
        if self._ended:
            return
        self._ended = True
        self.latency = time.perf_counter() - self.started
        if error is not None:
            self.status = "error"
            self.http_status = _status_of(error)
            if self.http_status == CLIENT_CLOSED:
                self.error = self.error or "client disconnected"
            else:
                self.error = self.error or str(error) or type(error).__name__
        for callback in reversed(self._on_end):
            callback(self)
