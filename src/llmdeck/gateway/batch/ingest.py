"""Reading a batch's input file: one request per JSONL line, each checked on its own.

A line is `{"custom_id": str, "method": "POST", "url": <the batch's endpoint>, "body": {...}}`.
A malformed line is kept with its error (named by line number and field) and reported in the
batch's error file; the other lines run. Only a file that cannot be read at all (not UTF-8,
no requests, too many lines) fails the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from llmdeck.gateway.wire.openai import ChatRequest, EmbeddingRequest
from llmdeck.web import bad_request

ENDPOINTS: dict[str, type[BaseModel]] = {
    "/v1/chat/completions": ChatRequest,
    "/v1/embeddings": EmbeddingRequest,
}


class InputFileError(Exception):
    """The input file as a whole is unusable; `code` and `line` as in OpenAI's batch errors."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def as_dict(self) -> dict[str, Any]:
        """The OpenAI batch error object."""
        return {"code": self.code, "message": self.message, "param": None, "line": self.line}


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One request line: its body when valid, else its error (`code`, `message`, `line`)."""

    line: int
    custom_id: str | None
    body: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def parse_input(content: bytes, endpoint: str, max_lines: int) -> list[ParsedLine]:
    """Every non-blank line of a batch input file, checked against `endpoint`."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            "invalid_file", f"the input file is not UTF-8 ({exc.reason})"
        ) from None
    parsed: list[ParsedLine] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(parsed) >= max_lines:
            raise InputFileError(
                "too_many_lines", f"the input file has more than {max_lines} requests", number
            )
        line = parse_line(number, raw, endpoint)
        custom_id = line.custom_id
        if custom_id is not None and line.error is None:
            if custom_id in seen:
                line = _bad(number, custom_id, "duplicate_custom_id", "custom_id is not unique")
            seen.add(custom_id)
        parsed.append(line)
    if not parsed:
        raise InputFileError("empty_file", "the input file has no requests")
    return parsed


def parse_line(number: int, raw: str, endpoint: str) -> ParsedLine:
    """One line, checked."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _bad(number, None, "invalid_json", f"not valid JSON ({exc})")
    if not isinstance(data, dict):
        return _bad(number, None, "invalid_request", "a line must be a JSON object")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return _bad(number, None, "missing_custom_id", "custom_id: must be a non-empty string")
    if data.get("method", "POST") != "POST":
        return _bad(number, custom_id, "invalid_method", "method: must be POST")
    if data.get("url") != endpoint:
        message = f"url: must be the batch's endpoint {endpoint!r}, not {data.get('url')!r}"
        return _bad(number, custom_id, "mismatched_url", message)
    body = data.get("body")
    if not isinstance(body, dict):
        return _bad(number, custom_id, "invalid_body", "body: must be a JSON object")
    try:
        ENDPOINTS[endpoint].model_validate(body)
    except ValidationError as exc:
        problem = bad_request(exc).message
        return _bad(number, custom_id, "invalid_body", f"body.{problem}")
    return ParsedLine(number, custom_id, {**body, "stream": False} if "stream" in body else body)


def _bad(number: int, custom_id: str | None, code: str, message: str) -> ParsedLine:
    error = {"code": code, "message": f"line {number}: {message}", "line": number}
    return ParsedLine(number, custom_id, error=error)
