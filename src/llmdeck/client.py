"""The Python SDK's HTTP client for a llmdeck server.

    from llmdeck.client import Client

    with Client("http://127.0.0.1:4000", api_key="...") as deck:
        reply = deck.chat("chat", [{"role": "user", "content": "hi"}])
        deck.score(reply["trace_id"], "helpful", True)

Calls made inside an `observe` span carry its W3C `traceparent`, so the gateway's spans join the
application's trace. `AsyncClient` has the same methods, awaited.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import httpx

from llmdeck.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UpstreamError,
)
from llmdeck.observe.tracing import observe

_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
}


def _base(url: str | None) -> str:
    return (url or os.environ.get("LLMDECK_URL") or "http://127.0.0.1:4000").rstrip("/")


def _headers(api_key: str | None) -> dict[str, str]:
    key = api_key or os.environ.get("LLMDECK_API_KEY")
    return {"authorization": f"Bearer {key}"} if key else {}


def _result(response: httpx.Response) -> Any:
    """The JSON body, or the server's error as an ApiError with its status."""
    if response.status_code < 400:
        body = response.json() if response.content else None
        trace_id = response.headers.get("x-llmdeck-trace-id")
        if isinstance(body, dict) and trace_id:
            body["trace_id"] = trace_id
        return body
    try:
        error = response.json()["error"]
        message, code = str(error.get("message")), error.get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        message, code = response.text[:500] or response.reason_phrase, None
    cls = _ERRORS.get(response.status_code)
    if cls is not None:
        raise cls(message, code=code)
    raise UpstreamError(message, status=response.status_code, code=code or "server_error")


def _score_body(name: str, value: float | bool | str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "value": value, **{k: v for k, v in fields.items() if v is not None}}


class Client:
    """A synchronous client (httpx underneath)."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0
    ) -> None:
        self._http = httpx.Client(
            base_url=_base(base_url),
            headers=_headers(api_key),
            timeout=timeout,
            event_hooks={"request": [observe.httpx_hook]},
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any API call; returns the JSON body."""
        return _result(self._http.request(method, path, **kwargs))

    def chat(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Any:
        """POST /v1/chat/completions (non-streaming); adds `trace_id` to the reply."""
        return self.request("POST", "/v1/chat/completions", json={"model": model,
                            "messages": messages, **params})  # fmt: skip

    def embeddings(self, model: str, input: str | list[str], **params: Any) -> Any:
        """POST /v1/embeddings."""
        return self.request("POST", "/v1/embeddings", json={"model": model, "input": input,
                            **params})  # fmt: skip

    def traces(self, **filters: Any) -> Any:
        """GET /api/traces: a page of traces (`data`, `next_cursor`)."""
        return self.request("GET", "/api/traces", params=filters)

    def trace(self, trace_id: str) -> Any:
        """GET /api/traces/{id}: a trace with its span tree, scores and events."""
        return self.request("GET", f"/api/traces/{trace_id}")

    def score(self, trace_id: str, name: str, value: float | bool | str, **fields: Any) -> Any:
        """POST a score on a trace (`span_id=`, `comment=`, `source=`, `data_type=` optional)."""
        body = _score_body(name, value, fields)
        return self.request("POST", f"/api/traces/{trace_id}/scores", json=body)

    def analytics(self, kind: str = "summary", **params: Any) -> Any:
        """GET /api/analytics/{summary|timeseries}."""
        return self.request("GET", f"/api/analytics/{kind}", params=params)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """The asynchronous client: `Client`'s methods, awaited."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=_base(base_url),
            headers=_headers(api_key),
            timeout=timeout,
            event_hooks={"request": [observe.ahttpx_hook]},
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any API call; returns the JSON body."""
        return _result(await self._http.request(method, path, **kwargs))

    async def chat(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Any:
        """POST /v1/chat/completions (non-streaming); adds `trace_id` to the reply."""
        return await self.request("POST", "/v1/chat/completions", json={"model": model,
                                  "messages": messages, **params})  # fmt: skip

    async def embeddings(self, model: str, input: str | list[str], **params: Any) -> Any:
        """POST /v1/embeddings."""
        return await self.request("POST", "/v1/embeddings", json={"model": model,
                                  "input": input, **params})  # fmt: skip

    async def traces(self, **filters: Any) -> Any:
        """GET /api/traces: a page of traces (`data`, `next_cursor`)."""
        return await self.request("GET", "/api/traces", params=filters)

    async def trace(self, trace_id: str) -> Any:
        """GET /api/traces/{id}: a trace with its span tree, scores and events."""
        return await self.request("GET", f"/api/traces/{trace_id}")

    async def score(
        self, trace_id: str, name: str, value: float | bool | str, **fields: Any
    ) -> Any:
        """POST a score on a trace (`span_id=`, `comment=`, `source=`, `data_type=` optional)."""
        body = _score_body(name, value, fields)
        return await self.request("POST", f"/api/traces/{trace_id}/scores", json=body)

    async def analytics(self, kind: str = "summary", **params: Any) -> Any:
        """GET /api/analytics/{summary|timeseries}."""
        return await self.request("GET", f"/api/analytics/{kind}", params=params)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
