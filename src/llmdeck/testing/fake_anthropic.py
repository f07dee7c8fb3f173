"""The Anthropic Messages wire shapes: the message (JSON and SSE events), models, errors."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import orjson

from llmdeck.testing.reply import Prompt, Reply, Sse, read_prompt, split, text_of

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def _error_object(status: int, message: str | None) -> dict[str, str]:
    kind, default = _ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"Error {status}.")
    )
    return {"type": kind, "message": message or default}


@functools.lru_cache(maxsize=256)
def _error_body(status: int, message: str | None) -> bytes:
    error = _error_object(status, message)
    return orjson.dumps({"type": "error", "error": error, "request_id": "req_fake"})


def _event(name: bytes, data: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "input_tokens": max(0, reply.input_tokens - reply.cached_tokens),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": reply.cached_tokens,
        "output_tokens": reply.output_tokens,
        "service_tier": "standard",
    }


def _block(reply: Reply, complete: bool) -> dict[str, Any]:
    if not reply.tool:
        return {"type": "text", "text": reply.text if complete else ""}
    return {
        "type": "tool_use",
        "id": f"toolu_fake{reply.serial:08d}",
        "name": reply.tool.name,
        "input": reply.tool.arguments if complete else {},
    }


def _message(body: dict[str, Any], reply: Reply, complete: bool) -> dict[str, Any]:
    usage = _usage(reply)
    if not complete:
        usage["output_tokens"] = 1
    return {
        "id": f"msg_fake{reply.serial:012d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake-chat"),
        "content": [_block(reply, True)] if complete else [],
        "stop_reason": _STOP[reply.finish] if complete else None,
        "stop_sequence": None,
        "usage": usage,
    }


class AnthropicMessages:
    """`POST /v1/messages`."""

    request_id_header = "request-id"

    def problem(self, body: dict[str, Any]) -> str | None:
        """What is wrong with the request, as Anthropic words it, or `None`."""
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                return f"{field}: Field required"
        if not isinstance(body["messages"], list):
            return "messages: Input should be a valid list"
        return None

    def prompt(self, body: dict[str, Any]) -> Prompt:
        """What the request asks; the top-level `system` counts towards the prompt."""
        return read_prompt(body.get("messages"), (text_of(body.get("system")),), body)

    def response(self, body: dict[str, Any], reply: Reply, created: int) -> bytes:
        """The non-streaming `message` body."""
        return orjson.dumps(_message(body, reply, complete=True))

    def stream(self, body: dict[str, Any], reply: Reply, created: int, chunks: int) -> Sse:
        """message_start, one content block (start, ping, deltas, stop), message_delta, stop."""
        head = [
            _event(
                b"message_start", {"type": "message_start", "message": _message(body, reply, False)}
            ),
            _event(
                b"content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": _block(reply, False)},
            ),
            _event(b"ping", {"type": "ping"}),
        ]
        if reply.tool:
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in split(reply.arguments, chunks)
            ]
        else:
            deltas = [{"type": "text_delta", "text": p} for p in split(reply.text, chunks)]
        usage = _usage(reply)
        tail = [
            _event(b"content_block_stop", {"type": "content_block_stop", "index": 0}),
            _event(
                b"message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": _STOP[reply.finish], "stop_sequence": None},
                    "usage": {k: v for k, v in usage.items() if k != "service_tier"},
                },
            ),
            _event(b"message_stop", {"type": "message_stop"}),
        ]
        events = [{"type": "content_block_delta", "index": 0, "delta": d} for d in deltas]
        return Sse(head, [_event(b"content_block_delta", e) for e in events], tail)

    def error(self, status: int, message: str | None = None) -> bytes:
        """Anthropic's error body for an HTTP status."""
        return _error_body(status, message)

    def error_event(self) -> bytes:
        """The in-stream `error` event Anthropic sends when a stream fails after it started."""
        return _event(b"error", {"type": "error", "error": _error_object(529, None)})

    def auth_problem(self, headers: Mapping[str, str], api_key: str) -> tuple[int, str] | None:
        """401 unless `x-api-key` (or `Authorization: Bearer`, as newer SDKs send it) is
        `api_key`; 400 without `anthropic-version`."""
        bearer = headers.get("authorization")
        if headers.get("x-api-key") != api_key and bearer != f"Bearer {api_key}":
            return 401, "invalid x-api-key"
        if not headers.get("anthropic-version"):
            return 400, "anthropic-version: header is required"
        return None


@functools.lru_cache(maxsize=16)
def models_body(models: tuple[str, ...]) -> bytes:
    """`GET /v1/models` in Anthropic's shape (asked for with an `anthropic-version` header)."""
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in models
    ]
    first, last = (models[0], models[-1]) if models else (None, None)
    return orjson.dumps({"data": data, "has_more": False, "first_id": first, "last_id": last})
