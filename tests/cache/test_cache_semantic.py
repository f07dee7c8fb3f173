"""The semantic cache through the openai SDK, embedding with the local model: paraphrases hit,
near-misses with other numbers, names or negation do not, tool turns skip it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
from sqlalchemy import select
from tests.cache.conftest import ADMIN_KEY, upstream_calls
from tests.cache.test_cache_gateway import ask, span

from llmdeck.config import DEFAULT_THRESHOLD
from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

Client = Callable[..., openai.OpenAI]


def test_paraphrase_is_a_semantic_hit(
    client_for: Client, fake: FakeProvider, server: ServerThread
) -> None:
    client = client_for()
    first = ask(client, "sem", "How tall is the Eiffel Tower?")
    second = ask(client, "sem", "What is the height of the Eiffel Tower?")
    assert first[0] == "miss"
    assert second[:2] == ("semantic-hit", "echo: How tall is the Eiffel Tower?")
    assert upstream_calls(fake) == 1
    row = span(server, second[2])
    assert row.attributes["cache_similarity"] >= DEFAULT_THRESHOLD
    assert row.attributes["cache_saved_tokens"] > 0
    # the question was embedded through the gateway: a child embedding span in the same trace
    server.runtime.recorder.flush()
    assert any(r.kind == "embedding" for r in _spans_of(server, second[2]))


def test_near_misses_are_refused(
    client_for: Client, fake: FakeProvider, server: ServerThread
) -> None:
    client = client_for()
    assert ask(client, "sem", "What was the population of Norway in 2019?")[0] == "miss"
    assert ask(client, "sem", "What was the population of Norway in 2021?")[0] == "miss"
    assert ask(client, "sem", "Is it safe to drink tap water in Lisbon?")[0] == "miss"
    assert ask(client, "sem", "Is it not safe to drink tap water in Lisbon?")[0] == "miss"
    assert upstream_calls(fake) == 4
    stats = httpx.get(
        f"{server.url}/api/cache/stats", headers={"authorization": f"Bearer {ADMIN_KEY}"}
    ).json()["aliases"]["sem"]
    assert stats["rejected"].get("numbers", 0) >= 1
    assert stats["rejected"].get("negation", 0) >= 1


def test_other_system_prompt_never_shares(client_for: Client) -> None:
    client = client_for()
    question = "Who designed the Sydney Opera House?"

    def with_system(system: str, text: str) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="sem",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        )
        return raw.headers["x-llmdeck-cache"]

    assert with_system("Answer in French.", question) == "miss"
    phrased = "Which architect designed the Sydney Opera House?"
    assert with_system("Answer in French.", phrased) == "semantic-hit"
    assert with_system("Answer in German.", phrased) == "miss"


def test_tool_turns_skip_the_semantic_cache(client_for: Client) -> None:
    client = client_for()
    tools: Any = [
        {
            "type": "function",
            "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    assert ask(client, "sem", "What is the weather in Bergen today?", tools=tools)[0] == "miss"
    phrased = "Tell me today's weather in Bergen."
    assert ask(client, "sem", phrased, tools=tools)[0] == "miss"
    # the exact request is still an exact hit
    assert ask(client, "sem", phrased, tools=tools)[0] == "hit"


def _spans_of(server: ServerThread, trace_id: str) -> list[Any]:
    query = select(tables.spans).where(tables.spans.c.trace_id == trace_id)
    return server.runtime.store.read(lambda conn: list(conn.execute(query)))
