"""The SDK: `client.prompts.get(...)` with its local cache and stale-if-error fallback, local
rendering, and the same surface on `Client` and `AsyncClient`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import httpx
import pytest

from llmdeck.client import AsyncClient, Client
from llmdeck.errors import NotFound
from llmdeck.prompts import AsyncPromptsClient, PromptsClient, ServerUnavailable
from llmdeck.testing.server import ServerThread

from .conftest import spec

VARIABLES = {"product": "llmdeck", "question": "Is it up?"}


def test_get_is_cached_and_survives_the_server_going_away(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server()
    httpx.post(server.url + "/api/prompts", json=spec(labels=["production"]))
    httpx.post(server.url + "/api/prompts", json=spec(params={"temperature": 0.9}))
    with Client(server.url, prompt_cache_ttl=60) as client, Client(server.url) as fresh:
        prompt = client.prompts.get("support-answer")
        assert prompt.version == 1
        rendered = prompt.render(VARIABLES)
        assert rendered.messages[1] == {"role": "user", "content": "Is it up?"}
        assert client.prompts.get("support-answer", version=2).params["temperature"] == 0.9
        client.prompts.set_label("support-answer", "production", 2)
        assert client.prompts.get("support-answer").version == 1  # cached for the TTL
        uncached = Client(server.url, prompt_cache_ttl=0)
        assert uncached.prompts.get("support-answer").version == 2
        with pytest.raises(NotFound, match="has no label 'beta'") as missing:
            client.prompts.get("support-answer", label="beta")
        assert missing.value.code == "label_not_found"
        server.stop()
        uncached.prompts.get("support-answer")  # expired, server down: the last copy
        assert client.prompts.get("support-answer", version=2).version == 2
        with pytest.raises(ServerUnavailable, match="cannot reach llmdeck"):
            fresh.prompts.get("support-answer")  # never fetched: nothing to fall back on
        fallback = {"messages": [{"role": "user", "content": "{{ question }}"}]}
        spare = fresh.prompts.get("support-answer", fallback=fallback)
        assert (spare.name, spare.version) == ("support-answer", 0)
        assert spare.render(VARIABLES).messages == [{"role": "user", "content": "Is it up?"}]
        uncached.close()


def test_async_client(server: ServerThread) -> None:
    httpx.post(server.url + "/api/prompts", json=spec(labels=["production"]))

    async def main() -> None:
        async with AsyncClient(server.url) as client:
            prompt = await client.prompts.get("support-answer", label="production", user="u1")
            assert prompt.render(VARIABLES).messages[0]["content"].endswith("llmdeck.")
            remote = await client.prompts.render("support-answer", VARIABLES)
            assert remote.messages == prompt.render(VARIABLES).messages
            assert [p.name for p in await client.prompts.list()] == ["support-answer"]

    asyncio.run(main())


def test_sync_and_async_clients_have_the_same_methods() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(fn)
            for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("_")
        }

    sync, asynchronous = public(PromptsClient), public(AsyncPromptsClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert inspect.iscoroutinefunction(getattr(AsyncPromptsClient, name)), name
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
