"""Servers with cached aliases in front of the fake provider; keys for scoping tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from llmdeck.config import Settings
from llmdeck.gateway import Principal
from llmdeck.server import build_runtime
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

PRICE = {"input": 1.0, "output": 2.0}
ADMIN_KEY = "sk-admin-test"


class Keys:
    """A key resolver over a fixed table (the seam the gateway takes; virtual keys plug in
    here)."""

    enabled = True

    def __init__(self, table: dict[str, Principal]) -> None:
        self.table = table

    async def resolve(self, secret: str) -> Principal | None:
        return self.table.get(secret)


KEYS = {
    "sk-alice": Principal(key_id="k-alice", name="alice", team="red"),
    "sk-bob": Principal(key_id="k-bob", name="bob", team="red"),
    "sk-carol": Principal(key_id="k-carol", name="carol", team="blue"),
    "sk-dave": Principal(key_id="k-dave", name="dave"),
}


def model(name: str, fake: FakeProvider, cache: Any, **deployment: Any) -> dict[str, Any]:
    base = {"provider": "openai", "api_base": fake.openai_base, "api_key": "sk-fake"}
    return {
        "name": name,
        "cache": cache,
        "deployments": [{**base, "model": "fake-chat", "price": PRICE, **deployment}],
    }


def cache_settings(home: Path, fake: FakeProvider, **extra: Any) -> Settings:
    models = [
        model("exact", fake, "exact"),
        model("sem", fake, {"mode": "semantic", "scope": "global"}),
        model("team", fake, {"mode": "exact", "scope": "team"}),
        model("user", fake, {"mode": "exact", "scope": "user"}),
        model("everyone", fake, {"mode": "exact", "scope": "global"}),
        model("short", fake, {"mode": "exact", "ttl": 0.4}),
        model("small", fake, {"mode": "exact", "max_entries": 2}),
        model("plain", fake, "off"),
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]
    return Settings.model_validate(
        {"home": home, "models": models, "admin_key": ADMIN_KEY, **extra}
    )


def keyed_server(settings: Settings) -> ServerThread:
    """A server whose gateway knows the KEYS (and the admin key)."""
    return ServerThread(settings, runtime=build_runtime(settings, keys=Keys(KEYS)))


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_provider_server: FakeProvider
) -> Iterator[ServerThread]:
    settings = cache_settings(tmp_path_factory.mktemp("home"), fake_provider_server)
    with keyed_server(settings) as running:
        yield running


@pytest.fixture
def client_for(server: ServerThread) -> Callable[[str], openai.OpenAI]:
    def make(key: str = ADMIN_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=20)

    return make


@pytest.fixture
def unique() -> str:
    """Text no other test sends, so cache entries never leak between tests."""
    return uuid.uuid4().hex[:8]


def upstream_calls(fake: FakeProvider) -> int:
    """Chat requests that reached the fake."""
    return sum(1 for r in fake.requests if r.path == "/v1/chat/completions")
