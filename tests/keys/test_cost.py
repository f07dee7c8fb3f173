"""Cost per call against hand-computed values, for both client shapes, both provider shapes,
streaming and not; built-in list prices; the daily spend roll-up by every dimension."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from llmdeck.config import Price
from llmdeck.gateway.spend import lookup
from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import HTTP, admin_client, create_key, knobs

USAGE = {"input_tokens": 1000, "output_tokens": 500, "cached_tokens": 200}
PRICE = {"input": 1.0, "output": 2.0, "cached_input": 0.5}
COST = (800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6  # fresh input, cache reads, output
MINI = (800 * 0.15 + 200 * 0.075 + 500 * 0.60) / 1e6  # gpt-4o-mini's list price


def aliases(fake: FakeProvider) -> list[dict[str, Any]]:
    common = {"api_key": "x", "headers": knobs(usage=USAGE)}
    return [
        {
            "name": "oa-metered",
            "deployments": [
                {
                    **common,
                    "provider": "openai",
                    "api_base": fake.openai_base,
                    "name": "oa-dep",
                    "model": "m",
                    "price": PRICE,
                }
            ],
        },
        {
            "name": "an-metered",
            "deployments": [
                {
                    **common,
                    "provider": "anthropic",
                    "api_base": fake.anthropic_base,
                    "name": "an-dep",
                    "model": "c",
                    "price": PRICE,
                }
            ],
        },
        {
            "name": "mini",
            "deployments": [
                {
                    **common,
                    "provider": "openai",
                    "api_base": fake.openai_base,
                    "name": "mini-dep",
                    "model": "gpt-4o-mini-2024-07-18",
                }
            ],
        },
    ]


def send(url: str, secret: str, alias: str, shape: str, stream: bool) -> httpx.Response:
    """One call in the client's shape; a stream is read to its end."""
    messages = [{"role": "user", "content": "what does this cost?"}]
    if shape == "openai":
        path, headers = "/v1/chat/completions", {"authorization": f"Bearer {secret}"}
        body: dict[str, Any] = {"model": alias, "messages": messages, "stream": stream}
    else:
        path = "/v1/messages"
        headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
        body = {"model": alias, "messages": messages, "max_tokens": 600, "stream": stream}
    body["tags"] = ["cost-test", shape]
    response = HTTP.post(url + path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("shape", ["openai", "anthropic"])
def test_cost_matches_hand_computed_values(
    serve: Callable[..., ServerThread], fake: FakeProvider, shape: str, stream: bool
) -> None:
    server = serve(extra_models=aliases(fake))
    key_id, secret = create_key(server.url, team="research")

    traces = [
        send(server.url, secret, alias, shape, stream).headers["x-llmdeck-trace-id"]
        for alias in ("oa-metered", "an-metered", "mini")
    ]

    assert server.runtime.recorder.flush()
    spans = server.runtime.store.read(
        lambda c: {r.trace_id: r for r in c.execute(select(tables.spans))}
    )
    costs = [spans[t].cost for t in traces]
    assert costs == [pytest.approx(COST), pytest.approx(COST), pytest.approx(MINI)]
    assert [spans[t].cached_tokens for t in traces] == [200, 200, 200]

    by_deployment = spend(server.url, "deployment", expect_requests=3)
    assert {r["deployment"]: r["cost"] for r in by_deployment} == {
        "oa-dep": pytest.approx(COST),
        "an-dep": pytest.approx(COST),
        "mini-dep": pytest.approx(MINI),
    }
    assert by_deployment[0]["input_tokens"] == 1000 and by_deployment[0]["cached_tokens"] == 200
    total = 2 * COST + MINI
    for by, value in (("key", key_id), ("team", "research")):
        rows = spend(server.url, by, expect_requests=3)
        assert [(r[by], r["requests"]) for r in rows] == [(value, 3)]
        assert rows[0]["cost"] == pytest.approx(total)
    models = {r["model"]: r["requests"] for r in spend(server.url, "model", expect_requests=3)}
    assert models == {"oa-metered": 1, "an-metered": 1, "mini": 1}
    tags = {r["tag"]: r["cost"] for r in spend(server.url, "tag", expect_requests=6)}
    assert tags == {"cost-test": pytest.approx(total), shape: pytest.approx(total)}


def spend(url: str, by: str, *, expect_requests: int) -> list[dict[str, Any]]:
    """The spend report, once the roll-up has been written (it is written behind)."""
    deadline = time.monotonic() + 10
    with admin_client(url) as client:
        while True:
            body = client.get("/api/spend", params={"by": by}).json()
            if body["total"]["requests"] >= expect_requests or time.monotonic() > deadline:
                rows: list[dict[str, Any]] = body["rows"]
                return rows
            time.sleep(0.05)


def test_list_prices_are_found_by_the_names_people_use() -> None:
    assert lookup("gpt-4o-mini") == Price(input=0.15, output=0.60, cached_input=0.075)
    assert lookup("gpt-4o-2024-08-06") == lookup("gpt-4o")
    assert lookup("openai/gpt-4o") == lookup("gpt-4o")
    assert lookup("claude-3-5-sonnet-20241022") == lookup("claude-3-5-sonnet-latest")
    assert lookup("claude-3-5-sonnet@20240620") == Price(input=3, output=15, cached_input=0.3)
    assert lookup("models/gemini-2.5-pro") == Price(input=1.25, output=10.0)
    assert lookup("mistral-small") == lookup("mistral-small-latest")
    assert lookup("my-finetune") is None


def test_a_configured_price_wins_and_local_models_are_free(
    serve: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    server = serve(extra_models=aliases(fake))
    book = server.runtime.gateway.controls.prices
    deployments = {d.name: d for a in server.runtime.settings.models for d in a.deployments}

    assert book.source(deployments["oa-dep"]) == (Price.model_validate(PRICE), "config")
    assert book.source(deployments["mini-dep"])[1] == "built-in"
    assert book.source(deployments["local-0"]) == (Price(input=0, output=0), "free")
