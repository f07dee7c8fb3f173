"""What every capability's HTTP routes share: reading a JSON body into a model with errors that
name the field, and JSON responses. (The error bodies themselves are made in server/errors.py.)"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from llmdeck.config import format_loc
from llmdeck.errors import BadRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
DEFAULT_LIMIT = 10 * 1024 * 1024


async def read_body(request: Request, limit: int = DEFAULT_LIMIT) -> bytes:
    """The raw body, refusing more than `limit` bytes (413) before reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
    return bytes(body)


def parse_model(model: type[M], raw: bytes | str | dict[str, Any]) -> M:
    """Validate `raw` (JSON text or a dict) as `model`; BadRequest names the first bad field."""
    try:
        if isinstance(raw, dict):
            return model.model_validate(raw)
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise bad_request(exc) from None


def bad_request(exc: ValidationError) -> BadRequest:
    """A BadRequest describing the first validation error, naming its field."""
    error = exc.errors()[0]
    if error["type"] == "json_invalid":
        return BadRequest(f"invalid JSON body: {error['msg'].removeprefix('Invalid JSON: ')}")
    if error["type"] == "model_type" and not error["loc"]:
        return BadRequest("the request body must be a JSON object")
    where = format_loc(tuple(p for p in error["loc"] if not str(p).startswith("function-")))
    message = {"missing": "is required", "extra_forbidden": "is not a known field"}.get(
        error["type"], error["msg"].removeprefix("Value error, ")
    )
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return BadRequest(f"{where}: {message}{more}", param=where or None, code="invalid_field")


async def read_model(request: Request, model: type[M], limit: int = DEFAULT_LIMIT) -> M:
    """Read and validate the JSON body as `model`."""
    return parse_model(model, await read_body(request, limit))


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (models, dataclasses, datetimes welcome)."""
    if isinstance(content, BaseModel):
        body = content.model_dump_json(exclude_none=True).encode()
    else:
        body = orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code, headers, media_type="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
