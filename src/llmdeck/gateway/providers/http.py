"""What HTTP-based providers share: posting JSON, turning failures into ProviderError, and
reading server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from llmdeck.gateway.providers.base import ProviderError, status_error


def error_detail(raw: bytes) -> str:
    """The message from an upstream error body (OpenAI or Anthropic shape), or the raw text."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace").strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return raw.decode("utf-8", "replace").strip()


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout: float,
    deployment: str,
) -> bytes:
    """POST `body` and return the raw response body; raise ProviderError on any failure."""
    try:
        async with session.post(
            url,
            data=orjson.dumps(body),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise status_error(
                    response.status,
                    error_detail(raw),
                    response.headers.get("retry-after"),
                    deployment,
                )
            return raw
    except TimeoutError:
        raise ProviderError(f"{deployment} timed out after {timeout:g}s", timeout=True) from None
    except aiohttp.ClientError as exc:
        raise ProviderError(
            f"{deployment} connection failed: {exc or type(exc).__name__}"
        ) from None


async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout: float,
    deployment: str,
) -> aiohttp.ClientResponse:
    """POST `body` for a stream; the response is open and OK, or ProviderError is raised.

    `timeout` bounds the wait for the response headers and each later read, not the whole
    stream, so long answers are not cut.
    """
    try:
        response = await session.post(
            url,
            data=orjson.dumps(body),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        )
    except TimeoutError:
        raise ProviderError(f"{deployment} timed out after {timeout:g}s", timeout=True) from None
    except aiohttp.ClientError as exc:
        raise ProviderError(
            f"{deployment} connection failed: {exc or type(exc).__name__}"
        ) from None
    if response.status >= 400:
        try:
            raw = await response.read()
        finally:
            response.release()
        raise status_error(
            response.status, error_detail(raw), response.headers.get("retry-after"), deployment
        )
    return response


async def sse_data(response: aiohttp.ClientResponse, deployment: str) -> AsyncIterator[bytes]:
    """The `data:` payloads of a server-sent event stream, until `[DONE]` or the end.

    Takes whatever has arrived and splits the lines here: one read for all the events that
    came in together, rather than one (much slower) `readline` per line.
    """
    pending = b""
    try:
        while True:
            block = await response.content.readany()
            lines = (pending + block).split(b"\n") if block else [pending]
            pending = lines.pop() if block else b""
            for line in lines:
                if line.startswith(b"data:"):
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        return
                    if data:
                        yield data
            if not block:
                return
    except TimeoutError:
        raise ProviderError(f"{deployment} stream stalled", timeout=True) from None
    except aiohttp.ClientError as exc:
        raise ProviderError(f"{deployment} stream broke: {exc or type(exc).__name__}") from None
    finally:
        response.close()


def parse_json(raw: bytes, deployment: str) -> Any:
    """Parse an upstream JSON payload; a malformed one is the deployment's fault."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProviderError(f"{deployment} sent malformed JSON: {raw[:200]!r}") from None
