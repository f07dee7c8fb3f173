"""The vectors layer's `embed(texts, model)`, built on the gateway's embeddings path, so that
collection embeddings get the gateway's routing, retries, cost and traces. Runs the gateway on
its event loop and waits from the caller's thread (collections do their work in threads)."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from llmdeck.config import Settings
from llmdeck.gateway import EmbeddingRequest, EmbeddingResponse, Gateway
from llmdeck.gateway.auth import ADMIN
from llmdeck.vectors import Embeddings

if TYPE_CHECKING:
    from llmdeck.server.app import Runtime

BATCH = 256  # texts per embeddings request


async def gateway_embed(gateway: Gateway, texts: list[str], model: str) -> Embeddings:
    """Embed through the gateway (as the admin principal), in batches."""
    parts, tokens, cost = [], 0, 0.0
    for start in range(0, len(texts), BATCH):
        request = EmbeddingRequest(
            model=model, input=texts[start : start + BATCH], encoding_format="base64"
        )
        call = gateway.new_call("embeddings", request, ADMIN)
        reply = await gateway.handle(call)
        assert isinstance(reply, EmbeddingResponse)
        rows = sorted(reply.data, key=lambda e: e.index)
        parts.append(np.stack([_decode(e.embedding) for e in rows]))
        tokens += reply.usage.prompt_tokens
        cost += call.cost or 0.0
    return Embeddings(np.concatenate(parts), tokens, cost)


def _decode(value: list[float] | str) -> np.ndarray:
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


class LoopEmbedder:
    """A thread-safe, blocking `embed(texts, model)` over a gateway on an event loop."""

    def __init__(self, gateway: Gateway, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.gateway = gateway
        self.loop = loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use `loop` (the server's, once it runs)."""
        self.loop = loop

    def __call__(self, texts: list[str], model: str) -> Embeddings:
        if self.loop is None:
            raise RuntimeError("the embedder is not bound to a running event loop")
        future = asyncio.run_coroutine_threadsafe(
            gateway_embed(self.gateway, texts, model), self.loop
        )
        return future.result()


@contextmanager
def background_runtime(settings: Settings) -> Iterator[Runtime]:
    """For the CLI: the server's parts without the HTTP server, the gateway running on an
    event loop in a thread so that collections can embed through it."""
    from llmdeck.server.app import build_runtime

    runtime = build_runtime(settings)
    runtime.store.migrate()
    runtime.recorder.start()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="llmdeck-gateway", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(runtime.gateway.start(), loop).result()
    runtime.embedder.bind(loop)
    try:
        yield runtime
    finally:
        runtime.vectors.close()
        asyncio.run_coroutine_threadsafe(runtime.gateway.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        runtime.recorder.close()
        runtime.store.close()
