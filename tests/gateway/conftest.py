"""A running llmdeck server in front of the fake provider, with one alias per translation path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

PRICE = {"input": 1.0, "output": 2.0, "cached_input": 0.5}


def knobs(**values: Any) -> dict[str, str]:
    """Deployment headers that give every request to that deployment these fake knobs."""
    return {"x-fake-behaviour": orjson.dumps(values).decode()}


def gateway_settings(home: Path, fake: FakeProvider, **extra: Any) -> Settings:
    openai = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "api_key": "sk-fake",
        "price": PRICE,
    }
    anthropic = {
        "provider": "anthropic",
        "api_base": fake.anthropic_base,
        "api_key": "ak-fake",
        "price": PRICE,
    }
    models = [
        {"name": "gpt", "deployments": [{**openai, "name": "oa", "model": "fake-chat"}]},
        {"name": "claude", "deployments": [{**anthropic, "name": "an", "model": "claude-fake"}]},
        {"name": "local", "deployments": [{"provider": "local", "model": "extractive"}]},
        {"name": "vectors", "deployments": [{**openai, "name": "emb", "model": "fake-embedding"}]},
        {
            "name": "failover",
            "deployments": [
                {**openai, "name": "broken", "model": "a", "headers": knobs(status=500)},
                {**anthropic, "name": "healthy", "model": "b"},
            ],
        },
        {
            "name": "pair",
            "deployments": [
                {**openai, "name": "first", "model": "a"},
                {**openai, "name": "second", "model": "b"},
            ],
        },
        {
            "name": "down",
            "deployments": [
                {**openai, "name": "down-1", "model": "a", "headers": knobs(status=503)},
                {**openai, "name": "down-2", "model": "b", "headers": knobs(drop=True)},
            ],
        },
        {
            "name": "slow",
            "deployments": [
                {
                    **openai,
                    "name": "sleepy",
                    "model": "a",
                    "timeout": 0.5,
                    "headers": knobs(hang=True),
                }
            ],
        },
    ]
    return Settings.model_validate({"home": home, "models": models, **extra})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeProvider) -> None:
    fake.reset()
    fake.clear()


@pytest.fixture
def settings_for(fake: FakeProvider, tmp_path: Path) -> Callable[..., Settings]:
    """Settings like the shared server's, with `extra` top-level fields."""
    return lambda **extra: gateway_settings(tmp_path, fake, **extra)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[ServerThread]:
    home = tmp_path_factory.mktemp("home")
    with ServerThread(gateway_settings(home, fake)) as running:
        yield running
