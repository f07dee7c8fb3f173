"""SDK spans and gateway spans join into one trace: an @observe function calls the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from tests.observe.conftest import get

from llmdeck.client import AsyncClient, Client
from llmdeck.observe import observe
from llmdeck.testing.server import ServerThread

MESSAGES: Any = [{"role": "user", "content": "what is llmdeck?"}]


@pytest.fixture
def traced(server: ServerThread) -> Iterator[ServerThread]:
    observe.configure(url=server.url, service="shop")
    yield server
    observe.configure(enabled=False)


def names(spans: list[dict[str, Any]]) -> list[Any]:
    return [(s["name"], names(s["children"])) for s in spans]


def test_openai_sdk_call_inside_sdk_spans_joins_the_trace(traced: ServerThread) -> None:
    http = httpx.Client(event_hooks={"request": [observe.httpx_hook]})
    gpt = openai.OpenAI(base_url=f"{traced.url}/v1", api_key="x", http_client=http, max_retries=0)

    @observe(kind="agent")
    def answer(question: str) -> str:
        observe.update_trace(name="support", user_id="u-1", tags=["beta"])
        with observe.span("lookup", kind="retrieval", input=question) as span:
            span.update(output=[{"id": "d1", "content": "a platform"}])
        reply = gpt.chat.completions.create(model="gpt", messages=MESSAGES)
        return reply.choices[0].message.content or ""

    assert answer("what is llmdeck?") == "echo: what is llmdeck?"
    assert observe.flush()
    http.close()
    (listed,) = get(traced, "/api/traces", user_id="u-1")["data"]
    trace = get(traced, f"/api/traces/{listed['id']}")
    assert trace["name"] == "support" and trace["tags"] == ["beta"]
    assert names(trace["spans"]) == [("answer", [("lookup", []), ("chat gpt", [])])]
    root = trace["spans"][0]
    assert root["input"] == {"question": "what is llmdeck?"}
    assert root["output"] == "echo: what is llmdeck?"
    assert trace["input"] == {"question": "what is llmdeck?"}
    gateway = root["children"][1]
    assert gateway["model_alias"] == "gpt" and gateway["deployment"] == "oa"
    assert trace["span_count"] == 3 and trace["cost"] == pytest.approx(gateway["cost"])


def test_llmdeck_client_propagates_and_scores(traced: ServerThread) -> None:
    with Client(traced.url) as deck, observe.span("ask", kind="chain") as span:
        reply = deck.chat("gpt", MESSAGES)
        trace_id = span.trace_id
    assert reply["trace_id"] == trace_id
    with Client(traced.url) as deck:
        assert deck.score(trace_id, "helpful", True)["trace_id"] == trace_id
        assert observe.flush() and traced.runtime.recorder.flush()
        trace = deck.trace(trace_id)
    assert names(trace["spans"]) == [("ask", [("chat gpt", [])])]
    assert [(s["name"], s["value"], s["data_type"]) for s in trace["scores"]] == [
        ("helpful", True, "boolean")
    ]


def test_async_spans_nest_per_task(traced: ServerThread) -> None:
    async def main() -> str:
        async with AsyncClient(traced.url) as deck:

            @observe(name="one question")
            async def ask(question: str) -> str:
                reply = await deck.chat("gpt", [{"role": "user", "content": question}])
                return str(reply["choices"][0]["message"]["content"])

            with observe.span("batch") as batch:
                await asyncio.gather(ask("a"), ask("b"))
            return batch.trace_id

    trace_id = asyncio.run(main())
    assert observe.flush()
    trace = get(traced, f"/api/traces/{trace_id}")
    assert names(trace["spans"]) == [
        ("batch", [("one question", [("chat gpt", [])]), ("one question", [("chat gpt", [])])])
    ]
