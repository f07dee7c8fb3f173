"""The Python SDK: a client of a running llmdeck server.

    from llmdeck.client import Client

    with Client("http://127.0.0.1:4000", api_key="...") as client:
        prompt = client.prompts.get("support-answer", label="production")
        messages = prompt.render({"product": "llmdeck", "question": "..."}).messages

`AsyncClient` has the same surface, awaitable. Each capability's part of the SDK lives in that
capability (`prompts.PromptsClient`); this module composes them over one HTTP connection pool.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from llmdeck.prompts import AsyncPromptsClient, PromptsClient

DEFAULT_URL = "http://127.0.0.1:4000"


def _headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


class Client:
    """A synchronous client: `client.prompts`."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        prompt_cache_ttl: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self.prompts = PromptsClient(self._http, cache_ttl=prompt_cache_ttl)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """An asyncio client: `client.prompts`, awaitable."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        prompt_cache_ttl: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self.prompts = AsyncPromptsClient(self._http, cache_ttl=prompt_cache_ttl)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "Client"]
