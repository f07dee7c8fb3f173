"""Each strategy's choice, and the reason it gives."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from llmdeck.config import ModelAlias, Settings
from llmdeck.gateway import Call, ChatRequest, EmbeddingRequest, Message
from llmdeck.gateway.router.load import STALE_AFTER, Load
from llmdeck.gateway.router.strategies import strategy_for


def _alias(routing: str, *deployments: dict[str, Any]) -> ModelAlias:
    settings = Settings.model_validate(
        {
            "models": [
                {
                    "name": "chat",
                    "routing": routing,
                    "deployments": [{"provider": "openai", "model": "m", **d} for d in deployments],
                }
            ]
        }
    )
    return settings.models[0]


def _call(alias: ModelAlias, text: str = "hi", **fields: Any) -> Call:
    request = ChatRequest(model="chat", messages=[Message(role="user", content=text)], **fields)
    return Call(kind="chat", request=request, alias=alias)


def _loads(alias: ModelAlias) -> dict[str, Load]:
    return {d.name: Load(d.max_parallel) for d in alias.deployments}


def _rank(routing: str, alias: ModelAlias, call: Call, loads: dict[str, Load]) -> list[str]:
    ranking = strategy_for(routing, random.Random(1)).rank(alias.deployments, call, loads)
    return [d.name for d in ranking.order]


def test_priority_keeps_the_configured_order() -> None:
    alias = _alias("priority", {"name": "a"}, {"name": "b"}, {"name": "c"})
    ranking = strategy_for("priority", random.Random()).rank(
        alias.deployments, _call(alias), _loads(alias)
    )
    assert [d.name for d in ranking.order] == ["a", "b", "c"]
    assert ranking.why(ranking.order[0]) == "priority: 1st of 3"
    assert ranking.why(ranking.order[2]) == "priority: 3rd of 3"


def test_weighted_draws_in_proportion_and_reproducibly() -> None:
    alias = _alias(
        "weighted",
        {"name": "big", "weight": 3},
        {"name": "small", "weight": 1},
        {"name": "spare", "weight": 0},
    )
    strategy = strategy_for("weighted", random.Random(42))
    call, loads = _call(alias), _loads(alias)
    orders = [
        [d.name for d in strategy.rank(alias.deployments, call, loads).order] for _ in range(4000)
    ]
    firsts = Counter(order[0] for order in orders)
    assert 0.72 < firsts["big"] / 4000 < 0.78 and firsts["spare"] == 0
    assert all(order[-1] == "spare" for order in orders)  # weight 0: only as a fallback
    again = strategy_for("weighted", random.Random(42))
    replay = [
        [d.name for d in again.rank(alias.deployments, call, loads).order] for _ in range(4000)
    ]
    assert replay == orders
    ranking = strategy.rank(alias.deployments, call, loads)
    big = next(d for d in alias.deployments if d.name == "big")
    assert ranking.why(big) == "weighted: drew big (weight 3, 75%)"


def test_least_latency_prefers_the_fastest_and_explores_the_unmeasured() -> None:
    alias = _alias("least-latency", {"name": "slow"}, {"name": "fast"}, {"name": "new"})
    loads = _loads(alias)
    now = time.monotonic()
    loads["slow"].latency.add(0.230, now)
    loads["fast"].latency.add(0.041, now)
    call = _call(alias)
    assert _rank("least-latency", alias, call, loads) == ["new", "fast", "slow"]
    loads["new"].latency.add(0.500, now)
    ranking = strategy_for("least-latency", random.Random()).rank(alias.deployments, call, loads)
    assert [d.name for d in ranking.order] == ["fast", "slow", "new"]
    assert ranking.why(ranking.order[0]) == "least-latency: fast 41 ms vs slow 230 ms, new 500 ms"
    loads["new"].latency.updated = now - STALE_AFTER - 1  # not measured lately: try it again
    assert _rank("least-latency", alias, call, loads)[0] == "new"


def test_least_latency_uses_time_to_first_token_for_streams() -> None:
    alias = _alias("least-latency", {"name": "a"}, {"name": "b"})
    loads = _loads(alias)
    now = time.monotonic()
    loads["a"].latency.add(0.2, now)
    loads["a"].ttft.add(0.9, now)
    loads["b"].latency.add(0.8, now)
    loads["b"].ttft.add(0.1, now)
    assert _rank("least-latency", alias, _call(alias), loads) == ["a", "b"]
    streaming = _call(alias, stream=True)
    assert _rank("least-latency", alias, streaming, loads) == ["b", "a"]


def test_moving_average_weighs_recent_samples() -> None:
    load = Load(None)
    for sample in (1.0, 1.0, 0.1, 0.1, 0.1, 0.1):
        load.latency.add(sample, time.monotonic())
    assert 0.1 < (load.latency.current(time.monotonic()) or 0) < 0.4


def test_lowest_cost_weighs_prices_by_the_requests_tokens() -> None:
    alias = _alias(
        "lowest-cost",
        {"name": "cheap-in", "price": {"input": 1, "output": 10}},
        {"name": "cheap-out", "price": {"input": 5, "output": 2}},
        {"name": "unpriced"},
    )
    loads = _loads(alias)
    long_output = _call(alias, "short question", max_tokens=1000)
    assert _rank("lowest-cost", alias, long_output, loads) == ["cheap-out", "cheap-in", "unpriced"]
    long_input = _call(alias, "x" * 8000, max_tokens=1)
    assert _rank("lowest-cost", alias, long_input, loads)[0] == "cheap-in"
    ranking = strategy_for("lowest-cost", random.Random()).rank(
        alias.deployments, long_output, loads
    )
    assert ranking.why(ranking.order[0]) == (
        "lowest-cost (11 in + 1000 out tokens): cheap-out $0.002055 vs cheap-in $0.010011, "
        "unpriced no price"
    )


def test_lowest_cost_of_embeddings_counts_input_only() -> None:
    alias = _alias(
        "lowest-cost",
        {"name": "a", "price": {"input": 2, "output": 0}},
        {"name": "b", "price": {"input": 1, "output": 100}},
    )
    request = EmbeddingRequest(model="chat", input=["some text to embed"])
    call = Call(kind="embeddings", request=request, alias=alias)
    assert _rank("lowest-cost", alias, call, _loads(alias)) == ["b", "a"]


def test_least_busy_prefers_the_fewest_in_flight() -> None:
    alias = _alias("least-busy", {"name": "a"}, {"name": "b"}, {"name": "c"})
    loads = _loads(alias)
    loads["a"].in_flight, loads["b"].in_flight, loads["c"].in_flight = 5, 2, 2
    ranking = strategy_for("least-busy", random.Random()).rank(
        alias.deployments, _call(alias), loads
    )
    assert [d.name for d in ranking.order] == ["b", "c", "a"]
    assert (
        ranking.why(ranking.order[0]) == "least-busy: b 2 in flight vs c 2 in flight, a 5 in flight"
    )
