"""The complexity classifier on hand-labelled prompts, and `routing: complexity` sending a call
to its tier alias with the decision recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llmdeck.config import ComplexityExample, ComplexitySettings
from llmdeck.gateway import ChatRequest, ChatResponse, Message
from llmdeck.gateway.router.complexity import ComplexityClassifier
from llmdeck.gateway.router.signals import signals

from .conftest import Harness

LABELLED = Path(__file__).parents[2] / "bench" / "data" / "complexity_prompts.jsonl"

SIMPLE = [
    "hello!",
    "What is the capital of Portugal?",
    "Translate 'cheese' into Italian.",
    "Who wrote Hamlet?",
    "Give me a synonym for 'big'.",
    "thanks a lot",
]
COMPLEX = [
    "Design a sharded job queue on PostgreSQL that survives worker crashes; compare it with "
    "Redis streams and explain the trade-offs for exactly-once processing.",
    "Prove by induction that the sum of the first n odd numbers is n^2.",
    "Here is my code:\n```python\ndef f(xs):\n    return sorted(xs)[len(xs) // 2]\n```\n"
    "Why is it wrong for even-length lists, and how would you fix and test it?",
    "Analyze the risks of migrating our billing system to a new payment provider and plan "
    "the rollout step by step, with a rollback strategy.",
]


def _request(text: str, *history: str, **fields: Any) -> ChatRequest:
    messages = [
        Message(role="user" if i % 2 == 0 else "assistant", content=h)
        for i, h in enumerate(history)
    ]
    return ChatRequest(
        model="auto", messages=[*messages, Message(role="user", content=text)], **fields
    )


def _tier(classifier: ComplexityClassifier, request: ChatRequest) -> str:
    return asyncio.run(classifier.classify(request)).tier


@pytest.mark.parametrize("text", SIMPLE)
def test_simple_prompts_go_to_the_simple_tier(text: str) -> None:
    assert _tier(ComplexityClassifier(ComplexitySettings()), _request(text)) == "simple"


@pytest.mark.parametrize("text", COMPLEX)
def test_hard_prompts_go_to_the_complex_tier(text: str) -> None:
    assert _tier(ComplexityClassifier(ComplexitySettings()), _request(text)) == "complex"


def test_each_signal_moves_the_score() -> None:
    found = signals(_request("```\nint main() { return 0; }\n```"))
    assert found["code"] == 1.0 and found["math"] < 1.0
    assert signals(_request("Solve for x: x^2 + 3x = 10 and prove it"))["math"] > 0.6
    assert signals(_request("explain why, step by step, and compare"))["reasoning"] == 1.0
    assert signals(_request("hi"))["simple"] == 1.0
    long_chat = _request("and now?", *["a question", "an answer"] * 5)
    assert signals(long_chat)["turns"] > 0.9
    assert signals(_request("x", tools=[{"function": {"name": "f"}}]))["tools"] == 1.0


def test_accuracy_on_the_held_out_half_of_the_labelled_prompts() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines()]
    classifier = ComplexityClassifier(ComplexitySettings())
    held_out = [r for r in rows if r["split"] == "test"]
    right = sum(_tier(classifier, _request(r["text"])) == r["tier"] for r in held_out)
    assert len(held_out) == 60 and right / len(held_out) >= 0.9


def test_labelled_examples_pull_the_score() -> None:
    """A prompt the signals call simple is sent to `complex` when it resembles examples the
    user labelled complex (lexical similarity)."""
    examples = tuple(
        ComplexityExample(text=t, tier="complex")
        for t in ("write our quarterly board memo", "draft the quarterly board memo for Q3")
    ) + (ComplexityExample(text="what is the weather", tier="simple"),)
    plain = ComplexityClassifier(ComplexitySettings())
    taught = ComplexityClassifier(ComplexitySettings(examples=examples, examples_weight=0.7))
    request = _request("Write the quarterly board memo.")
    assert _tier(plain, request) == "simple"
    verdict = asyncio.run(taught.classify(request))
    assert verdict.tier == "complex" and verdict.vote is not None and verdict.vote > 0.8
    assert "; examples 0.9" in verdict.explain()


def test_embedding_similarity_uses_the_injected_embedder() -> None:
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        rows = [[1.0, 0.0] if "memo" in t else [0.0, 1.0] for t in texts]
        return np.asarray(rows, dtype=np.float32)

    examples = (
        ComplexityExample(text="board memo", tier="complex"),
        ComplexityExample(text="weather today", tier="simple"),
    )
    settings = ComplexitySettings(similarity="embedding", examples=examples, examples_weight=0.9)
    classifier = ComplexityClassifier(settings, embed)
    verdict = asyncio.run(classifier.classify(_request("the memo, please")))
    assert verdict.tier == "complex" and seen == [
        ["board memo", "weather today"],
        ["the memo, please"],
    ]


def test_complexity_routing_re_resolves_the_alias_and_records_the_tier(
    harness: Harness,
) -> None:
    settings = harness.settings(
        {"name": "small", "deployments": [harness.deployment("small-1")]},
        {"name": "large", "deployments": [harness.deployment("large-1")]},
        {"name": "auto", "routing": "complexity", "tiers": {"simple": "small", "complex": "large"}},
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            easy = harness.call(settings, "auto", "What is the capital of Peru?")
            assert isinstance(await router(easy), ChatResponse)
            assert easy.alias.name == "small" and easy.deployment is not None
            assert easy.attributes["tier"] == "simple" and easy.attributes["routed_from"] == "auto"
            assert easy.route_reason.startswith("complexity: 0.")
            assert "-> simple tier 'small'; priority: 1st of 1" in easy.route_reason
            hard = harness.call(settings, "auto", COMPLEX[0])
            await router(hard)
            assert hard.alias.name == "large" and hard.attributes["tier"] == "complex"
            assert hard.attributes["complexity"] >= 0.5

    asyncio.run(scenario())
    assert [r.body["model"] for r in harness.fake.requests] == ["model-small-1", "model-large-1"]


def test_a_tier_must_be_an_alias_with_deployments() -> None:
    from llmdeck.config import Settings

    with pytest.raises(ValueError, match="routes by complexity itself"):
        Settings.model_validate(
            {
                "models": [
                    {
                        "name": "a",
                        "routing": "complexity",
                        "tiers": {"simple": "b", "complex": "b"},
                    },
                    {
                        "name": "b",
                        "routing": "complexity",
                        "tiers": {"simple": "a", "complex": "a"},
                    },
                ]
            }
        )


@pytest.mark.parametrize("text", ["\n" * 200_000, "f(" * 100_000, "1 " * 100_000, "x" * 200_000])
def test_pathological_prompts_are_scored_in_bounded_time(text: str) -> None:
    """Only the head and tail of a long request are scanned, with patterns that cannot
    backtrack badly (a catastrophic case would trip the test timeout)."""
    examples = (ComplexityExample(text="some example", tier="simple"),)
    classifier = ComplexityClassifier(ComplexitySettings(examples=examples))
    assert asyncio.run(classifier.classify(_request(text))).tier in ("simple", "complex")
