"""/api/collections on a real server, embedding through the gateway to a fake provider."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_settings

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

ADMIN = {"authorization": "Bearer admin-secret"}


@pytest.fixture
def server(home: Path, fake_provider: FakeProvider) -> Iterator[ServerThread]:
    deployment = {
        "provider": "openai",
        "model": "fake-embed",
        "api_base": fake_provider.openai_base,
    }
    settings = make_settings(
        home,
        admin_key="admin-secret",
        models=[
            {"name": "embed", "deployments": [deployment]},
            {"name": "embed-b", "deployments": [{**deployment, "model": "fake-embed-b"}]},
        ],
        vectors={"quality_interval": 0},
    )
    with ServerThread(settings) as running:
        yield running


def _call(server: ServerThread, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, server.url + path, timeout=30, **kwargs)


DOCS = [
    {"id": "a", "text": "alpha apples", "metadata": {"lang": "en", "n": 1}},
    {"id": "b", "text": "beta bananas", "metadata": {"lang": "de", "n": 2}},
    {"id": "c", "text": "gamma grapes", "metadata": {"lang": "en", "n": 3}},
]


def test_collection_api_end_to_end(server: ServerThread, fake_provider: FakeProvider) -> None:
    assert _call(server, "GET", "/api/collections").status_code == 401
    refused = _call(server, "POST", "/api/collections", json={"name": "docs"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "missing_api_key"
    created = _call(server, "POST", "/api/collections", json={"name": "docs"}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["dim"] == 16  # probed from the model
    upserted = _call(
        server, "POST", "/api/collections/docs/items", json={"items": DOCS}, headers=ADMIN
    )
    assert upserted.json()["upserted"] == 3 and upserted.json()["tokens"] > 0
    assert any(r.path == "/v1/embeddings" for r in fake_provider.requests)

    search = {"query": "beta bananas", "k": 2}
    hits = _call(server, "POST", "/api/collections/docs/search", json=search, headers=ADMIN)
    assert hits.json()["hits"][0]["id"] == "b"  # the fake embeds equal texts equally
    keyword = {"query": "grapes", "mode": "keyword"}
    hits = _call(server, "POST", "/api/collections/docs/search", json=keyword, headers=ADMIN)
    assert [h["id"] for h in hits.json()["hits"]] == ["c"]
    hybrid = {"query": "alpha apples grapes", "mode": "hybrid", "filter": {"lang": "en"}}
    hits = _call(server, "POST", "/api/collections/docs/search", json=hybrid, headers=ADMIN)
    assert {h["id"] for h in hits.json()["hits"]} == {"a", "c"}

    bad = _call(
        server, "POST", "/api/collections/docs/search", json={"vector": [1.0, 2.0]}, headers=ADMIN
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "wrong_dimension"
    bad = _call(
        server,
        "POST",
        "/api/collections/docs/search",
        json={"query": "x", "filter": {"n": {"$gt": "one"}}},
        headers=ADMIN,
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "filter.n.$gt"
    missing = _call(server, "GET", "/api/collections/nope", headers=ADMIN)
    assert missing.status_code == 404

    golden = {"queries": [{"query": "gamma grapes", "relevant_ids": ["c"]}]}
    assert _call(
        server, "PUT", "/api/collections/docs/golden", json=golden, headers=ADMIN
    ).json() == {"golden_queries": 1}
    measured = _call(server, "POST", "/api/collections/docs/quality", headers=ADMIN).json()
    assert measured["measured"]["recall"] == 1.0
    history = _call(server, "GET", "/api/collections/docs/quality", headers=ADMIN).json()
    assert history["points"][0]["trigger"] == "manual"

    deleted = _call(
        server, "POST", "/api/collections/docs/items/delete", json={"ids": ["a"]}, headers=ADMIN
    )
    assert deleted.json() == {"deleted": 1}
    stats = _call(server, "GET", "/api/collections/docs", headers=ADMIN).json()
    assert (stats["rows"], stats["version"], stats["model"]) == (2, 1, "embed")
    listing = _call(server, "GET", "/api/collections", headers=ADMIN).json()
    assert [c["name"] for c in listing["collections"]] == ["docs"]


def test_migration_through_the_api(server: ServerThread) -> None:
    _call(server, "POST", "/api/collections", json={"name": "docs"}, headers=ADMIN)
    _call(server, "POST", "/api/collections/docs/items", json={"items": DOCS}, headers=ADMIN)
    golden = {"queries": [{"query": "alpha apples", "relevant_ids": ["a"]}]}
    _call(server, "PUT", "/api/collections/docs/golden", json=golden, headers=ADMIN)
    started = _call(
        server, "POST", "/api/collections/docs/migrate", json={"model": "embed-b"}, headers=ADMIN
    )
    assert started.status_code == 202 and started.json()["target_version"] == 2
    deadline = time.monotonic() + 20
    state = "running"
    while state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = _call(server, "GET", "/api/collections/docs/migration", headers=ADMIN).json()
        state = status["migration"]["state"]
    assert state == "switched"
    stats = _call(server, "GET", "/api/collections/docs", headers=ADMIN).json()
    assert (stats["version"], stats["model"], stats["rows"]) == (2, "embed-b", 3)
    rolled = _call(server, "POST", "/api/collections/docs/rollback", headers=ADMIN)
    assert rolled.json() == {"version": 1}
    assert _call(server, "GET", "/api/collections/docs", headers=ADMIN).json()["version"] == 1
