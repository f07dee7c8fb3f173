"""Every call is recorded: tokens, cost from `price`, latency, time to first token, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest
from sqlalchemy import select

from llmdeck.config import Settings
from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

MESSAGES = [{"role": "user", "content": "count my tokens"}]


def spans(server: ServerThread) -> list[Any]:
    server.runtime.recorder.flush()
    return server.runtime.store.read(
        lambda conn: list(conn.execute(select(tables.spans).order_by(tables.spans.c.start_time)))
    )


def span_for(server: ServerThread, trace_id: str) -> Any:
    (row,) = [r for r in spans(server) if r.trace_id == trace_id]
    return row


@pytest.mark.parametrize("alias", ["gpt", "claude"])
@pytest.mark.parametrize("stream", [False, True])
def test_cost_matches_hand_computed_values(
    server: ServerThread, fake: FakeProvider, alias: str, stream: bool
) -> None:
    fake.set(usage={"input_tokens": 1000, "output_tokens": 500, "cached_tokens": 200})
    body: dict[str, Any] = {"model": alias, "messages": MESSAGES, "stream": stream}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=10)
    assert response.status_code == 200
    row = span_for(server, response.headers["x-llmdeck-trace-id"])
    assert (row.input_tokens, row.output_tokens, row.cached_tokens) == (1000, 500, 200)
    # price: input 1.0, cached_input 0.5, output 2.0 USD per million tokens
    assert row.cost == pytest.approx((800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6)
    assert row.model_alias == alias and row.status == "ok" and row.http_status == 200
    assert row.deployment == {"gpt": "oa", "claude": "an"}[alias]
    assert row.latency_ms > 0
    assert (row.ttft_ms is not None) == stream
    assert row.input == [{"role": "user", "content": "count my tokens"}]
    assert row.output["content"] == "echo: count my tokens"


def test_anthropic_shape_cost(server: ServerThread, fake: FakeProvider) -> None:
    fake.set(usage={"input_tokens": 300, "output_tokens": 100, "cached_tokens": 0})
    client = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    raw = client.messages.with_raw_response.create(model="claude", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    row = span_for(server, raw.headers["x-llmdeck-trace-id"])
    assert row.cost == pytest.approx((300 * 1.0 + 100 * 2.0) / 1e6)


def test_failures_are_recorded_with_status_and_error(server: ServerThread) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions", json={"model": "down", "messages": MESSAGES}
    )
    assert response.status_code == 503  # every deployment unavailable (503, dropped)
    failed = [r for r in spans(server) if r.model_alias == "down"]
    assert failed[-1].status == "error" and failed[-1].http_status == 503
    assert "down-1" in failed[-1].error
    assert failed[-1].attributes["attempts"][:2] == ["down-1", "down-2"]


def test_traceparent_joins_the_callers_trace(server: ServerThread) -> None:
    trace, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt", "messages": MESSAGES, "tags": ["t1"], "metadata": {"feature": "x"}},
        headers={"traceparent": f"00-{trace}-{parent}-01"},
    )
    assert response.headers["x-llmdeck-trace-id"] == trace
    row = span_for(server, trace)
    assert row.parent_id == parent and row.tags == ["t1"]


def test_client_disconnect_cancels_the_upstream_stream(
    server: ServerThread, fake: FakeProvider
) -> None:
    fake.set(chunks=40, chunk_interval=0.25)  # ten seconds if read to the end
    started = time.monotonic()
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt", "messages": MESSAGES, "stream": True},
    ) as response:
        trace_id = response.headers["x-llmdeck-trace-id"]
        for _ in response.iter_lines():
            break
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = [r for r in spans(server) if r.trace_id == trace_id]
        if rows:
            break
        time.sleep(0.05)
    assert rows, "the abandoned call was not ended"
    assert rows[0].http_status == 499 and rows[0].error == "client disconnected"
    assert time.monotonic() - started < 5


def test_admin_key_is_required_once_set(settings_for: Callable[..., Settings]) -> None:
    with ServerThread(settings_for(admin_key="adm-123")) as secured:
        anonymous = openai.OpenAI(base_url=f"{secured.url}/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            anonymous.chat.completions.create(model="gpt", messages=MESSAGES)  # type: ignore[arg-type]
        missing = httpx.post(
            f"{secured.url}/v1/chat/completions", json={"model": "gpt", "messages": MESSAGES}
        )
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
        admin = openai.OpenAI(base_url=f"{secured.url}/v1", api_key="adm-123", max_retries=0)
        assert admin.chat.completions.create(model="gpt", messages=MESSAGES).choices  # type: ignore[arg-type]
        claude = anthropic.Anthropic(base_url=secured.url, api_key="adm-123", max_retries=0)
        assert claude.messages.create(model="gpt", max_tokens=5, messages=MESSAGES).content  # type: ignore[arg-type]


def test_open_server_refuses_foreign_host_headers(server: ServerThread) -> None:
    response = httpx.get(f"{server.url}/health", headers={"host": "evil.example:4000"})
    assert response.status_code == 421
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
