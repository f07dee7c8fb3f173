"""One attempt on one deployment: call the provider within the request's deadline, read a
stream ahead to its first token (so a deployment that fails before answering can still be
failed over), and settle the outcome (slot, moving averages, circuit) exactly once, when the
reply is complete or the stream ends."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from llmdeck.config import Deployment
from llmdeck.gateway.call import Call, ChunkStream, Reply
from llmdeck.gateway.limits.deployments import DeploymentLimited
from llmdeck.gateway.providers.base import Provider, ProviderError
from llmdeck.gateway.router.circuit import Outcome
from llmdeck.gateway.router.retry import Deadline
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)


@dataclass(slots=True)
class Settlement:
    """How an attempt ended, handed to `Settle` once."""

    outcome: Outcome
    latency: float | None = None
    ttft: float | None = None
    rest: float = 0.0


Settle = Callable[[Settlement], Coroutine[Any, Any, None]]


def _has_token(chunk: ChatChunk) -> bool:
    """Whether the chunk carries part of the answer (not just the role) or ends it."""
    if chunk.usage is not None:
        return True
    for choice in chunk.choices:
        delta = choice.delta
        if delta.content or delta.tool_calls or choice.finish_reason:
            return True
    return False


async def read_ahead(stream: ChunkStream) -> list[ChatChunk]:
    """Chunks up to and including the first that carries a token (all of them if the stream
    ends first). On failure the stream is closed and the error raised."""
    head: list[ChatChunk] = []
    try:
        async for chunk in stream:
            head.append(chunk)
            if _has_token(chunk):
                break
    except BaseException:
        await stream.aclose()
        raise
    return head


async def run(
    provider: Provider,
    call: Call,
    deployment: Deployment,
    deadline: Deadline,
    settle: Settle,
) -> Reply:
    """The attempt; raises ProviderError when it fails (the deadline passing included).
    `settle` is called once with the outcome (for a stream, when it ends)."""
    started = time.perf_counter()
    remaining = deadline.remaining()
    try:
        if call.streaming or remaining < deployment.timeout:
            async with asyncio.timeout(remaining):
                reply = await _start(provider, call, started, settle)
        else:  # the deployment's own timeout (the whole answer) ends it first: no timer needed
            reply = await _start(provider, call, started, settle)
    except TimeoutError:
        await settle(Settlement("failure"))
        message = f"{deployment.name}: the request's deadline of {deadline.seconds:g}s passed"
        raise ProviderError(message, timeout=True) from None
    except DeploymentLimited:
        await settle(Settlement("released"))  # not tried: over its own rate limit, not a fault
        raise
    except ProviderError as exc:
        rest = exc.retry_after if exc.retry_after and exc.status in (429, 503) else 0.0
        await settle(Settlement("success" if exc.fault == "request" else "failure", rest=rest))
        raise
    except BaseException:
        await settle(Settlement("released"))
        raise
    if isinstance(reply, ChatResponse | EmbeddingResponse):
        await settle(Settlement("success", latency=time.perf_counter() - started))
    return reply


async def _start(provider: Provider, call: Call, started: float, settle: Settle) -> Reply:
    """Ask the provider; a stream comes back read ahead to its first token, watched."""
    if isinstance(call.request, EmbeddingRequest):
        return await provider.embed(call.request)
    if not call.chat.stream:
        return await provider.complete(call.chat)
    stream = provider.stream(call.chat)
    head = await read_ahead(stream)
    return _watched(head, stream, settle, started, time.perf_counter() - started)


def _watched(
    head: list[ChatChunk], stream: ChunkStream, settle: Settle, started: float, ttft: float
) -> ChunkStream:
    """The stream, settled when it ends (even if it is dropped without ever being read)."""
    done = [False]

    async def finish(result: Settlement) -> None:
        if not done[0]:
            done[0] = True
            await settle(result)

    def abandoned() -> None:
        if done[0]:
            return
        done[0] = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop any more: the process is ending
        task: asyncio.Task[None] = loop.create_task(settle(Settlement("released")))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    async def chunks() -> ChunkStream:
        result = Settlement("success", ttft=ttft)  # a client leaving after tokens: no fault
        try:
            for chunk in head:
                yield chunk
            async for chunk in stream:
                yield chunk
            result.latency = time.perf_counter() - started
        except ProviderError:
            result = Settlement("failure")
            raise
        finally:
            await stream.aclose()
            await finish(result)

    generator = chunks()
    weakref.finalize(generator, abandoned)
    return generator


_pending: set[asyncio.Task[None]] = set()  # settlements of dropped streams, kept until done
