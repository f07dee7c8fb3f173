"""The Python SDK: a client of a running llmdeck server.

    from llmdeck.client import Client

    with Client("http://127.0.0.1:4000", api_key="...") as deck:
        prompt = deck.prompts.get("support-answer", label="production")
        messages = prompt.render({"product": "llmdeck", "question": "..."}).messages

`AsyncClient` has the same surface, awaited. Each capability's part of the SDK lives in that
capability (`prompts.PromptsClient`); this module composes them over one connection pool.
"""

from __future__ import annotations

import os
from types import TracebackType

import httpx

from llmdeck.prompts import AsyncPromptsClient, PromptsClient

DEFAULT_URL = "http://127.0.0.1:4000"


def _base(url: str | None) -> str:
    return (url or os.environ.get("LLMDECK_URL") or DEFAULT_URL).rstrip("/")


def _headers(api_key: str | None) -> dict[str, str]:
    key = api_key or os.environ.get("LLMDECK_API_KEY")
    return {"authorization": f"Bearer {key}"} if key else {}


class Client:
    """A synchronous client (httpx underneath): `client.prompts`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        prompt_cache_ttl: float = 60.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=_base(base_url), headers=_headers(api_key), timeout=timeout
        )
        self.prompts = PromptsClient(self._http, cache_ttl=prompt_cache_ttl)

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
    """The asynchronous client: `client.prompts`, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        prompt_cache_ttl: float = 60.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=_base(base_url), headers=_headers(api_key), timeout=timeout
        )
        self.prompts = AsyncPromptsClient(self._http, cache_ttl=prompt_cache_ttl)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "Client"]
