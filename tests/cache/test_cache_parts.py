"""The cache's parts on their own: keys and scopes, the agreement checks, the vector index,
stream replay, and the settings."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from llmdeck.config import AliasCache, ModelAlias, Settings, load_settings
from llmdeck.errors import ConfigError
from llmdeck.gateway import Call, ChatRequest, Principal
from llmdeck.gateway.cache import VectorIndex, disagreement, fingerprint, replay
from llmdeck.gateway.wire.openai import ChatResponse

ALIAS = ModelAlias(
    name="chat",
    deployments=({"provider": "openai", "model": "m"},),  # type: ignore[arg-type]
)


def fp(
    policy: str | dict[str, Any] = "semantic", principal: Principal | None = None, **body: Any
) -> Any:
    request = ChatRequest.model_validate(
        {"model": "chat", "messages": [{"role": "user", "content": "Hi there"}], **body}
    )
    call = Call(
        kind="chat", request=request, alias=ALIAS, principal=principal or Principal("k1", "one")
    )
    return fingerprint(call, AliasCache.model_validate(policy))


def test_what_the_exact_key_ignores_and_what_it_does_not() -> None:
    base = fp().key
    assert fp(user="u", metadata={"a": 1}, tags=["t"], stream=True).key == base
    assert fp(max_completion_tokens=9).key == fp(max_tokens=9).key
    assert fp(stop="x").key == fp(stop=["x"]).key
    assert fp(messages=[{"role": "user", "content": "  Hi there \n"}]).key == base
    for change in ({"temperature": 0.5}, {"seed": 3}, {"logprobs": True}, {"n": 2}):
        assert fp(**change).key != base, change
    system = [{"role": "system", "content": "x"}, {"role": "user", "content": "Hi there"}]
    assert fp(messages=system).key != base


def test_scopes() -> None:
    alice, bob = Principal("ka", "alice", team="red"), Principal("kb", "bob", team="red")
    loner = Principal("kc", "carol")
    assert fp(principal=alice).key != fp(principal=bob).key
    team = {"mode": "exact", "scope": "team"}
    assert fp(team, alice).key == fp(team, bob).key
    assert fp(team, loner).key != fp(team, Principal("kd", "dave")).key
    user = {"mode": "exact", "scope": "user"}
    assert fp(user, alice, user="1").key != fp(user, alice, user="2").key
    everyone = {"mode": "exact", "scope": "global"}
    assert fp(everyone, alice).key == fp(everyone, loner).key


def test_semantic_namespace_and_skips() -> None:
    found = fp()
    assert found.question == "Hi there" and found.namespace is not None
    other_question = fp(messages=[{"role": "user", "content": "Bye"}])
    assert other_question.namespace == found.namespace and other_question.key != found.key
    assert fp(temperature=1.5).namespace != found.namespace
    assert fp("exact").namespace is None
    tool = {"type": "function", "function": {"name": "f"}}
    assert fp(tools=[tool]).skip == "tools"
    image = [{"type": "image_url", "image_url": {"url": "data:x"}}]
    assert fp(messages=[{"role": "user", "content": image}]).skip == "not-text"
    assert fp(messages=[{"role": "assistant", "content": "x"}]).skip == "no-question"
    assert fp(prompt={"name": "p"}).skip == "unrendered-prompt"


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ("How tall is the Eiffel Tower?", "What is the height of the Eiffel tower?", None),
        ('Who wrote "War and Peace"?', "Who is the author of War and Peace?", None),
        ("Why doesn't my build start?", "Why does my build not start?", None),
        ("Give me three tips for sleeping", "What are 3 tips for sleeping?", None),
        ("What is 1,000 divided by 8?", "What is 1000 divided by 8?", None),
        ("How tall is the Eiffel Tower?", "How tall is the Tokyo Tower?", "names"),
        ("Flights from Oslo to Rome", "Flights from Oslo to Paris", "names"),
        ("What was the GDP of Spain in 2019?", "What was the GDP of Spain in 2020?", "numbers"),
        ("Is a 30% discount good?", "Is a 40% discount good?", "numbers"),
        ("Is coffee bad for you?", "Is coffee not bad for you?", "negation"),
        ("Can I travel with a pet?", "Can I travel without a pet?", "negation"),
        ("Which is the largest ocean?", "Which is the smallest ocean?", "opposites"),
        ("What to do before a run?", "What to do after a run?", "opposites"),
        ("Explain the `git rebase` command", "Explain the `git merge` command", "names"),
        ("Is it safe to eat raw eggs?", "Is it unsafe to eat raw eggs?", "negation"),
        ("Can dogs eat grapes?", "Can cats eat grapes?", "substitution"),
        ("How do I sort a dict by value?", "How do I sort a dict by key?", "substitution"),
        ("Is the museum open on Mondays?", "Does the museum open on Monday?", None),
        ("What is 15% of 200?", "How much is fifteen percent of 200?", None),
        ("How many days are in a leap year?", "What is the number of days in a leap year?", None),
    ],
)
def test_agreement_checks(first: str, second: str, reason: str | None) -> None:
    assert disagreement(first, second) == reason
    assert disagreement(second, first) == reason


def unit_rows(count: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_index_is_exact_before_partitioning() -> None:
    rows = unit_rows(300, 16, 1)
    index = VectorIndex(16)
    for i, row in enumerate(rows):
        assert not index.add(str(i), row)
    query = rows[7]
    hits = index.search(query, k=3)
    expected = np.argsort(-(rows @ query))[:3]
    assert [h[0] for h in hits] == [str(i) for i in expected]
    assert hits[0][1] == pytest.approx(1.0)
    assert index.search(query, k=3, floor=0.999) == [("7", pytest.approx(1.0))]
    index.remove("7")
    assert "7" not in index and index.search(query, k=1)[0][0] != "7"
    with pytest.raises(ValueError, match="dimensions"):
        index.add("bad", np.ones(3, dtype=np.float32))


def test_partitioned_index_finds_near_duplicates_and_survives_concurrent_changes() -> None:
    rows = unit_rows(3000, 32, 2)
    index = VectorIndex(32, partition_at=1000, probes=8)
    for i, row in enumerate(rows[:2000]):
        if index.add(str(i), row):
            index.train()
    assert index.partitioned
    trained = threading.Thread(target=index.train)
    for i, row in enumerate(rows[2000:], start=2000):
        index.add(str(i), row)  # the 2x mark: training is due; adds go on meanwhile
        if i == 2000:
            trained.start()
    index.remove("5")
    trained.join()
    assert len(index) == 2999
    noise = np.random.default_rng(3).standard_normal((200, 32)).astype(np.float32) * 0.01
    found = 0
    for i in range(200):
        query = rows[10 + i * 14] + noise[i]
        hits = index.search(query / np.linalg.norm(query), k=1, floor=0.9)
        found += bool(hits) and hits[0][0] == str(10 + i * 14)
    assert found >= 196
    assert index.search(rows[5], k=1, floor=0.99) == []


def test_replay_turns_a_response_into_chunks() -> None:
    response = ChatResponse.model_validate(
        {
            "id": "c1",
            "model": "m",
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": "one two three four five six seven eight nine ten",
                        "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12},
        }
    )

    async def collect() -> list[Any]:
        return [chunk async for chunk in replay(response)]

    chunks = asyncio.run(collect())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == response.choices[0].message.content
    calls = [
        c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert calls[0][0].function.name == "f" and calls[0][0].index == 0
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 9


def test_settings(tmp_path: Any) -> None:
    assert AliasCache.model_validate("exact").mode == "exact"
    file = tmp_path / "llmdeck.yaml"
    file.write_text(
        "models:\n  - name: chat\n    cache: {mode: semantic, threshold: 1.5}\n"
        "    deployments: [{provider: local, model: extractive}]\n"
    )
    with pytest.raises(ConfigError, match=r"models\[0\]\.cache\.threshold"):
        load_settings(file, {})
    file.write_text(
        "models:\n  - name: chat\n    cache: semantic\n"
        "    deployments: [{provider: local, model: extractive}]\n"
    )
    with pytest.raises(ConfigError, match="chat.cache.embedding: unknown model alias 'embed'"):
        load_settings(file, {})
    with pytest.raises(ValueError, match="Redis URL"):
        Settings.model_validate({"cache": {"backend": "redis"}})
