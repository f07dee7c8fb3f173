"""A llmdeck server in front of the fake provider for the framework tests: `chat` (OpenAI
protocol), `claude-haiku-4-5` (Anthropic protocol), `embed` (the local model), a registered
prompt and a small collection. One server per module; tracing configured per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmdeck.client import Client
from llmdeck.config import Settings
from llmdeck.observe import observe
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

PRICE = {"input": 1.0, "output": 2.0}
DOCS = [
    {"id": "d1", "text": "llmdeck is a gateway for language models", "metadata": {"topic": "gw"}},
    {"id": "d2", "text": "traces are stored in postgres or sqlite", "metadata": {"topic": "obs"}},
    {"id": "d3", "text": "redis holds rate limits for replicas", "metadata": {"topic": "ops"}},
]
RAG_PROMPT = {
    "name": "rag",
    "messages": [
        {
            "role": "system",
            "content": "Answer from:{% for c in context %} [{{ loop.index }}] {{ c }}{% endfor %}",
        },
        {"role": "user", "content": "{{ question | upper }}"},
    ],
    "variables": {"context": "list", "question": "string"},
    "labels": ["production"],
}
QA_PROMPT = {
    "name": "qa",
    "messages": [
        {"role": "system", "content": "Context: {{ context_str }}"},
        {"role": "user", "content": "{{ query_str }}"},
    ],
    "variables": {"context_str": "string", "query_str": "string"},
    "labels": ["production"],
}


def _settings(home: Path, fake: FakeProvider) -> Settings:
    openai = {"provider": "openai", "api_base": fake.openai_base, "api_key": "sk", "price": PRICE}
    anthropic = {
        "provider": "anthropic", "api_base": fake.anthropic_base, "api_key": "sk", "price": PRICE,
    }  # fmt: skip
    models = [
        {"name": "chat", "deployments": [{**openai, "name": "oa", "model": "fake-chat"}]},
        {"name": "claude-haiku-4-5", "deployments": [{**anthropic, "name": "an", "model": "c"}]},
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]
    return Settings.model_validate(
        {"home": home, "models": models, "observe": {"flush_interval": 0.05}}
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server with the prompts `rag` and `qa` and the collection `docs`."""
    with ServerThread(_settings(tmp_path_factory.mktemp("home"), fake)) as running:
        with Client(running.url) as deck:
            deck.prompts.push(RAG_PROMPT)
            deck.prompts.push(QA_PROMPT)
            deck.request("POST", "/api/collections", json={"name": "docs"})
            deck.request("POST", "/api/collections/docs/items", json={"items": DOCS})
        yield running


@pytest.fixture
def traced(server: ServerThread, fake: FakeProvider) -> Iterator[ServerThread]:
    """Tracing to the server for one test; the fake's knobs reset."""
    fake.reset()
    observe.configure(url=server.url, service="app")
    yield server
    observe.configure(enabled=False)


def traces(server: ServerThread, **params: Any) -> list[dict[str, Any]]:
    """Full traces (span trees) matching `params`, newest first, once everything is written."""
    assert observe.flush()
    server.runtime.recorder.flush()
    listed = httpx.get(f"{server.url}/api/traces", params=params, timeout=10).json()["data"]
    return [httpx.get(f"{server.url}/api/traces/{t['id']}", timeout=10).json() for t in listed]


def shape(spans: list[dict[str, Any]]) -> list[Any]:
    """(kind, children) of a span tree."""
    return [(s["kind"], shape(s["children"])) for s in spans]


def walk(spans: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every span of a tree, depth first."""
    for span in spans:
        yield span
        yield from walk(span["children"])
