"""The OpenAI wire shapes: chat completions (JSON and SSE chunks), embeddings, models, errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from llmdeck.testing.reply import (
    Prompt,
    Reply,
    Sse,
    embed,
    embedding_base64,
    estimate_tokens,
    read_prompt,
    split,
)

_FINISH = {"stop": "stop", "length": "length", "tool": "tool_calls"}
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_DONE = b"data: [DONE]\n\n"


@functools.lru_cache(maxsize=256)
def error_body(status: int, message: str | None = None) -> bytes:
    """OpenAI's error body for an HTTP status."""
    kind, code, default = _ERRORS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, f"Error {status}."),
    )
    error = {"message": message or default, "type": kind, "param": None, "code": code}
    return orjson.dumps({"error": error})


def route_not_found(method: str, path: str) -> bytes:
    """OpenAI's 404 for a route it does not have."""
    error = {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error"}
    return orjson.dumps({"error": error | {"param": None, "code": None}})


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call(reply: Reply, arguments: str) -> dict[str, Any]:
    assert reply.tool is not None
    return {
        "id": f"call_fake{reply.serial:08d}",
        "type": "function",
        "function": {"name": reply.tool.name, "arguments": arguments},
    }


class OpenAIChat:
    """`POST /v1/chat/completions`."""

    request_id_header = "x-request-id"

    def problem(self, body: dict[str, Any]) -> str | None:
        """What is wrong with the request, as OpenAI words it, or `None`."""
        messages = body.get("messages")
        if messages is None:
            return "Missing required parameter: 'messages'."
        if not isinstance(messages, list) or not messages:
            return "Invalid 'messages': expected a non-empty array."
        return None

    def prompt(self, body: dict[str, Any]) -> Prompt:
        """What the request asks."""
        return read_prompt(body.get("messages"), (), body)

    def response(self, body: dict[str, Any], reply: Reply, created: int) -> bytes:
        """The non-streaming `chat.completion` body."""
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        message["refusal"] = None
        message["annotations"] = []
        if reply.tool:
            message["tool_calls"] = [_tool_call(reply, reply.arguments)]
        choice = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = _FINISH[reply.finish]
        return orjson.dumps(
            {
                "id": f"chatcmpl-fake{reply.serial:012d}",
                "object": "chat.completion",
                "created": created,
                "model": body.get("model", "fake-chat"),
                "choices": [choice],
                "usage": _usage(reply),
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
        )

    def stream(self, body: dict[str, Any], reply: Reply, created: int, chunks: int) -> Sse:
        """The `chat.completion.chunk` events, ending with the usage chunk if asked and `[DONE]`."""
        options = body.get("stream_options")
        with_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
        envelope = orjson.dumps(
            {
                "id": f"chatcmpl-fake{reply.serial:012d}",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model", "fake-chat"),
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
        )
        opening = b"data: " + envelope[:-1] + b',"choices":['
        closing = b'],"usage":null}\n\n' if with_usage else b"]}\n\n"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return opening + orjson.dumps(choice) + closing

        head, deltas = _deltas(reply, chunk, split(reply.arguments or reply.text, chunks))
        tail = [chunk({}, _FINISH[reply.finish])]
        if with_usage:
            final = orjson.loads(envelope) | {"choices": [], "usage": _usage(reply)}
            tail.append(b"data: " + orjson.dumps(final) + b"\n\n")
        tail.append(_DONE)
        return Sse(head, deltas, tail)

    def error(self, status: int, message: str | None = None) -> bytes:
        """The error body for `status`."""
        return error_body(status, message)

    def error_event(self) -> bytes:
        """The in-stream error OpenAI sends when a stream fails after it started."""
        return b"data: " + error_body(500) + b"\n\n"

    def auth_problem(self, headers: Mapping[str, str], api_key: str) -> tuple[int, str] | None:
        """401 unless the request carries `Authorization: Bearer <api_key>`."""
        if headers.get("authorization") != f"Bearer {api_key}":
            return 401, "Incorrect API key provided."
        return None


_Chunk = Callable[[dict[str, Any]], bytes]


def _deltas(reply: Reply, chunk: _Chunk, pieces: list[str]) -> tuple[list[bytes], list[bytes]]:
    if not reply.tool:
        head = [chunk({"role": "assistant", "content": "", "refusal": None})]
        return head, [chunk({"content": piece}) for piece in pieces]
    call = {"index": 0} | _tool_call(reply, "")
    head = [chunk({"role": "assistant", "content": None, "tool_calls": [call]})]
    parts = [{"index": 0, "function": {"arguments": piece}} for piece in pieces]
    return head, [chunk({"tool_calls": [part]}) for part in parts]


def _inputs(body: dict[str, Any]) -> list[Any]:
    items = body.get("input")
    if isinstance(items, str) or (isinstance(items, list) and items and isinstance(items[0], int)):
        return [items]
    return items if isinstance(items, list) else []


def embeddings_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with an embeddings request, or `None`."""
    if "input" not in body:
        return "Missing required parameter: 'input'."
    items = _inputs(body)
    if not items or any(not isinstance(i, (str, list)) or not i for i in items):
        return "Invalid 'input': expected a non-empty string or array of them."
    return None


def embeddings_body(body: dict[str, Any], default_dim: int, usage_tokens: int | None) -> bytes:
    """The `list` of embeddings for `input` (a string, strings, or token arrays)."""
    items = _inputs(body)
    dim = body.get("dimensions")
    dim = dim if isinstance(dim, int) and dim > 0 else default_dim
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(items):
        vector = embed(item, dim)
        encoded: object = embedding_base64(vector) if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(estimate_tokens(i) if isinstance(i, str) else len(i) for i in items)
    tokens = tokens if usage_tokens is None else usage_tokens
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake-embedding"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


@functools.lru_cache(maxsize=16)
def models_body(models: tuple[str, ...]) -> bytes:
    """`GET /v1/models` in OpenAI's shape."""
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "llmdeck"} for m in models]
    return orjson.dumps({"object": "list", "data": data})
