"""The cache across server lifetimes and replicas: the in-process backend survives a restart
through the database; two servers on one Redis share answers."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest
from tests.cache.conftest import model, upstream_calls
from tests.conftest import REDIS_URL

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread


def settings(home: Path, fake: FakeProvider, **extra: object) -> Settings:
    models = [
        model("exact", fake, {"mode": "exact", "scope": "global"}),
        model("sem", fake, {"mode": "semantic", "scope": "global"}),
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]
    return Settings.model_validate({"home": home, "models": models, **extra})


def ask(server: ServerThread, alias: str, text: str) -> str:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0, timeout=20)
    raw = client.chat.completions.with_raw_response.create(
        model=alias, messages=[{"role": "user", "content": text}]
    )
    return raw.headers["x-llmdeck-cache"]


def test_in_process_cache_survives_a_restart(tmp_path: Path, fake: FakeProvider) -> None:
    config = settings(tmp_path, fake)
    with ServerThread(config) as server:
        assert ask(server, "exact", "remember me") == "miss"
        assert ask(server, "sem", "How deep is Lake Baikal?") == "miss"
    with ServerThread(config) as server:
        assert ask(server, "exact", "remember me") == "hit"
        assert ask(server, "sem", "What is the depth of Lake Baikal?") == "semantic-hit"
    assert upstream_calls(fake) == 2


def test_persistence_can_be_turned_off(tmp_path: Path, fake: FakeProvider) -> None:
    config = settings(tmp_path, fake, cache={"persist": False})
    with ServerThread(config) as server:
        assert ask(server, "exact", "forget me") == "miss"
    with ServerThread(config) as server:
        assert ask(server, "exact", "forget me") == "miss"


@pytest.mark.redis
def test_replicas_share_through_redis(
    tmp_path: Path, fake: FakeProvider, redis_prefix: str
) -> None:
    extra = {"redis_url": REDIS_URL, "cache": {"prefix": redis_prefix}}
    one = settings(tmp_path / "one", fake, **extra)
    two = settings(tmp_path / "two", fake, **extra)
    with ServerThread(one) as first, ServerThread(two) as second:
        assert ask(first, "exact", "shared answer") == "miss"
        assert ask(first, "sem", "Who painted the Mona Lisa?") == "miss"
        time.sleep(0.05)  # the entries are written right after the replies
        assert ask(second, "exact", "shared answer") == "hit"
        assert ask(second, "sem", "Which artist painted the Mona Lisa?") == "semantic-hit"
    assert upstream_calls(fake) == 2
