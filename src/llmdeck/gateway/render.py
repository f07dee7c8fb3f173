"""Rendering replies in the client's shape: OpenAI or Anthropic, complete or as SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from llmdeck.errors import ApiError
from llmdeck.gateway.call import Call, ChunkStream
from llmdeck.gateway.wire.anthropic import EventsFromChunks
from llmdeck.gateway.wire.openai import error_body

_USAGE = {"usage"}


def _failure(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ApiError):
        return exc.message, exc.type
    return str(exc) or type(exc).__name__, "api_error"


async def openai_sse(call: Call, stream: ChunkStream) -> AsyncIterator[bytes]:
    """`data: {chunk}` events then `data: [DONE]`; a failure after the first chunk becomes an
    error event, which the OpenAI SDKs raise as APIError."""
    options = call.chat.stream_options or {}
    with_usage = bool(options.get("include_usage"))
    try:
        async for chunk in stream:
            if not with_usage and chunk.usage is not None:
                if not chunk.choices:
                    continue
                data = chunk.model_dump_json(exclude_none=True, exclude=_USAGE)
            else:
                data = chunk.model_dump_json(exclude_none=True)
            yield b"data: " + data.encode() + b"\n\n"
    except Exception as exc:  # noqa: BLE001 - told to the client in-band; the call records it
        message, kind = _failure(exc)
        yield b"data: " + orjson.dumps(error_body(message, kind, "stream_failed")) + b"\n\n"
        return
    yield b"data: [DONE]\n\n"


async def anthropic_sse(call: Call, stream: ChunkStream) -> AsyncIterator[bytes]:
    """Messages API events; a failure after the start becomes an `error` event."""
    events = EventsFromChunks(call.alias.name, call.trace_id)
    try:
        async for chunk in stream:
            for name, data in events.feed(chunk):
                yield _event(name, data)
    except Exception as exc:  # noqa: BLE001 - told to the client in-band; the call records it
        message, kind = _failure(exc)
        yield _event("error", {"type": "error", "error": {"type": kind, "message": message}})
        return
    for name, data in events.finish():
        yield _event(name, data)


def _event(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
