"""The one mapping from errors to HTTP responses: the OpenAI error body everywhere, which also
carries Anthropic's `type: error` envelope on /messages so both SDKs read it natively."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from llmdeck.errors import ApiError, NotFound
from llmdeck.gateway.wire.openai import error_body
from llmdeck.web import json_response

log = logging.getLogger("llmdeck.server")

_HTTP_TYPES = {404: "not_found_error", 405: "invalid_request_error", 401: "authentication_error"}


def error_response(exc: ApiError, path: str) -> Response:
    """The response for an ApiError on `path`."""
    body = error_body(exc.message, exc.type, exc.code, exc.param)
    if path.endswith("/messages"):
        body["type"] = "error"
    return json_response(body, exc.status, exc.headers())


async def on_api_error(request: Request, exc: Exception) -> Response:
    """Handler for ApiError."""
    assert isinstance(exc, ApiError)
    return error_response(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Handler for Starlette's own HTTP errors (unknown route, wrong method)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(
            NotFound(f"no route {request.method} {request.url.path}"), request.url.path
        )
    message = f"{exc.detail} ({request.method} {request.url.path})"
    body = error_body(message, _HTTP_TYPES.get(exc.status_code, "invalid_request_error"))
    return json_response(body, exc.status_code, dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Handler for bugs: logged with the traceback, answered without it."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response(error_body("internal server error", "api_error", "internal_error"), 500)


HANDLERS = {ApiError: on_api_error, HTTPException: on_http_exception, Exception: on_unexpected}
