"""Servers for the observability tests: llmdeck in front of the fake provider, on either engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

PRICE = {"input": 1.0, "output": 2.0}


def observe_settings(home: Path, fake: FakeProvider, **extra: Any) -> Settings:
    deployment = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "api_key": "sk-fake",
        "price": PRICE,
    }
    models = [{"name": "gpt", "deployments": [{**deployment, "name": "oa", "model": "fake-chat"}]}]
    observe = {"flush_interval": 0.05, **extra.pop("observe", {})}
    return Settings.model_validate({"home": home, "models": models, "observe": observe, **extra})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def start_server(fake: FakeProvider, tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    """Start a llmdeck server with these settings (stopped after the test)."""
    running: list[ServerThread] = []

    def start(**extra: Any) -> ServerThread:
        server = ServerThread(observe_settings(tmp_path, fake, **extra)).start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerThread], database_url: str) -> ServerThread:
    """A server on SQLite or PostgreSQL."""
    return start_server(database_url=database_url)


def get(server: ServerThread, path: str, **params: Any) -> Any:
    """GET a JSON API after the recorder has written what it has."""
    server.runtime.recorder.flush()
    response = httpx.get(f"{server.url}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
