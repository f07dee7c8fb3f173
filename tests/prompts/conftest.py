"""A llmdeck server on SQLite or PostgreSQL (`database_url`) in front of the fake provider, and
prompt specs to push into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

SUPPORT: dict[str, Any] = {
    "name": "support-answer",
    "messages": [
        {"role": "system", "content": "You answer questions about {{ product }}."},
        {"role": "user", "content": "{{ question }}"},
    ],
    "model": "gpt",
    "params": {"temperature": 0.2, "max_tokens": 400},
    "variables": {"product": "string", "question": "string"},
}


def spec(**changes: Any) -> dict[str, Any]:
    """The support-answer prompt with `changes`."""
    return {**SUPPORT, **changes}


def failing(status: int) -> dict[str, str]:
    """Deployment headers making the fake answer every request with `status`."""
    return {"x-fake-behaviour": orjson.dumps({"status": status}).decode()}


def prompt_settings(home: Path, fake: FakeProvider, database_url: str, **extra: Any) -> Settings:
    deployment = {"provider": "openai", "api_base": fake.openai_base, "api_key": "sk-fake"}
    models = [
        {"name": "gpt", "deployments": [{**deployment, "name": "oa", "model": "fake-chat"}]},
        {"name": "gpt-large", "deployments": [{**deployment, "name": "ob", "model": "fake-large"}]},
        {
            "name": "broken",
            "deployments": [
                {**deployment, "name": "bad", "model": "fake-bad", "headers": failing(500)}
            ],
        },
    ]
    return Settings.model_validate(
        {"home": home, "models": models, "database_url": database_url, **extra}
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def start_server(
    fake: FakeProvider, tmp_path: Path, database_url: str
) -> Iterator[Callable[..., ServerThread]]:
    """Starts a server on this test's database; `extra` are top-level settings."""
    started: list[ServerThread] = []

    def start(**extra: Any) -> ServerThread:
        server = ServerThread(prompt_settings(tmp_path / "home", fake, database_url, **extra))
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerThread]) -> ServerThread:
    """An open (keyless, loopback) server on this test's database."""
    return start_server()
