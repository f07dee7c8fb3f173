"""The cache through the official SDKs against the fake provider: hits and misses, streaming
replay, headers, scoping between keys, teams and users, bypass and refresh, TTL, eviction,
savings on the recorded span."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest
from sqlalchemy import select
from tests.cache.conftest import ADMIN_KEY, upstream_calls

from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

Client = Callable[..., openai.OpenAI]


def ask(client: openai.OpenAI, model: str, text: str, **extra: Any) -> tuple[str | None, str, str]:
    """(x-llmdeck-cache, answer, trace id) of one non-streaming request."""
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": text}],
        **extra,
    )
    answer = raw.parse().choices[0].message.content or ""
    return raw.headers.get("x-llmdeck-cache"), answer, raw.headers["x-llmdeck-trace-id"]


def span(server: ServerThread, trace_id: str) -> Any:
    server.runtime.recorder.flush()
    spans = tables.spans
    query = select(spans).where(spans.c.trace_id == trace_id, spans.c.kind == "llm")
    return server.runtime.store.read(lambda conn: conn.execute(query).one())


def test_exact_miss_then_hit(client_for: Client, fake: FakeProvider, unique: str) -> None:
    client = client_for()
    first = ask(client, "exact", f"hello {unique}")
    second = ask(client, "exact", f"hello {unique}")
    assert first[:2] == ("miss", f"echo: hello {unique}")
    assert second[:2] == ("hit", f"echo: hello {unique}")
    assert upstream_calls(fake) == 1


def test_parameters_that_change_the_answer_are_part_of_the_key(
    client_for: Client, fake: FakeProvider, unique: str
) -> None:
    client = client_for()
    text = f"params {unique}"
    assert ask(client, "exact", text, temperature=0.1)[0] == "miss"
    assert ask(client, "exact", text, temperature=0.1)[0] == "hit"
    assert ask(client, "exact", text, temperature=0.7)[0] == "miss"
    assert ask(client, "exact", text, temperature=0.1, max_tokens=5)[0] == "miss"
    # user, metadata and tags do not change the answer (scope key): same entry
    extra: dict[str, Any] = {"metadata": {"run": "x"}, "tags": ["a"]}
    assert ask(client, "exact", text, temperature=0.1, user="u1", extra_body=extra)[0] == "hit"
    assert upstream_calls(fake) == 3


def test_system_prompt_is_part_of_the_key(client_for: Client, unique: str) -> None:
    client = client_for()
    for system, expected in (("Be brief.", "miss"), ("Be brief.", "hit"), ("Be long.", "miss")):
        raw = client.chat.completions.with_raw_response.create(
            model="exact",
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": f"system {unique}"},
            ],
        )
        assert raw.headers["x-llmdeck-cache"] == expected


def test_streamed_hit_is_replayed_as_sse(
    client_for: Client, fake: FakeProvider, server: ServerThread, unique: str
) -> None:
    client = client_for()
    text = f"please stream this answer back in several pieces {unique}"
    assert ask(client, "exact", text)[0] == "miss"
    with client.chat.completions.with_streaming_response.create(
        model="exact",
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        assert response.headers["x-llmdeck-cache"] == "hit"
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.parse())
    content = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(content) == f"echo: {text}"
    assert len(content) > 1  # replayed in pieces, not one blob
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[-1].completion_tokens > 0  # the usage the answer had
    assert upstream_calls(fake) == 1
    trace = response.headers["x-llmdeck-trace-id"]
    row = span(server, trace)
    assert (row.cache, row.input_tokens, row.output_tokens, row.cost) == ("hit", 0, 0, 0.0)


def test_streamed_miss_is_stored_and_serves_a_complete_request(
    client_for: Client, fake: FakeProvider, unique: str
) -> None:
    client = client_for()
    text = f"stream first {unique}"
    stream = client.chat.completions.create(
        model="exact", messages=[{"role": "user", "content": text}], stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert ask(client, "exact", text)[:2] == ("hit", streamed)
    assert upstream_calls(fake) == 1


def test_a_cut_stream_is_not_stored(client_for: Client, fake: FakeProvider, unique: str) -> None:
    client = client_for()
    fake.set(cut_after=1)
    text = f"cut {unique}"
    with pytest.raises(openai.APIError):
        list(
            client.chat.completions.create(
                model="exact", messages=[{"role": "user", "content": text}], stream=True
            )
        )
    fake.reset()
    assert ask(client, "exact", text)[0] == "miss"


def test_anthropic_shape_hit(server: ServerThread, fake: FakeProvider, unique: str) -> None:
    client = anthropic.Anthropic(base_url=server.url, api_key=ADMIN_KEY, max_retries=0)
    messages: Any = [{"role": "user", "content": f"anthropic {unique}"}]
    first = client.messages.with_raw_response.create(
        model="exact", max_tokens=50, messages=messages
    )
    second = client.messages.with_raw_response.create(
        model="exact", max_tokens=50, messages=messages
    )
    assert (first.headers["x-llmdeck-cache"], second.headers["x-llmdeck-cache"]) == ("miss", "hit")
    assert second.parse().content[0].text == f"echo: anthropic {unique}"  # type: ignore[union-attr]
    with client.messages.stream(model="exact", max_tokens=50, messages=messages) as stream:
        assert stream.get_final_text() == f"echo: anthropic {unique}"
    assert upstream_calls(fake) == 1


def test_keys_do_not_share_by_default(client_for: Client, fake: FakeProvider, unique: str) -> None:
    text = f"private {unique}"
    assert ask(client_for("sk-alice"), "exact", text)[0] == "miss"
    assert ask(client_for("sk-alice"), "exact", text)[0] == "hit"
    assert ask(client_for("sk-bob"), "exact", text)[0] == "miss"
    assert ask(client_for(), "exact", text)[0] == "miss"  # the admin key is a key of its own
    assert upstream_calls(fake) == 3


def test_team_scope_shares_within_a_team_only(client_for: Client, unique: str) -> None:
    text = f"team {unique}"
    assert ask(client_for("sk-alice"), "team", text)[0] == "miss"
    assert ask(client_for("sk-bob"), "team", text)[0] == "hit"  # same team (red)
    assert ask(client_for("sk-carol"), "team", text)[0] == "miss"  # team blue
    assert ask(client_for("sk-dave"), "team", text)[0] == "miss"  # no team: own scope


def test_user_scope_separates_end_users_of_one_key(client_for: Client, unique: str) -> None:
    client = client_for()
    text = f"user {unique}"
    assert ask(client, "user", text, user="u-1")[0] == "miss"
    assert ask(client, "user", text, user="u-1")[0] == "hit"
    assert ask(client, "user", text, user="u-2")[0] == "miss"


def test_global_scope_shares_across_keys(client_for: Client, unique: str) -> None:
    text = f"shared {unique}"
    assert ask(client_for("sk-alice"), "everyone", text)[0] == "miss"
    assert ask(client_for("sk-carol"), "everyone", text)[0] == "hit"


def test_bypass_and_refresh(
    client_for: Client, fake: FakeProvider, server: ServerThread, unique: str
) -> None:
    client = client_for()
    text = f"control {unique}"
    bypass = {"extra_headers": {"x-llmdeck-cache": "bypass"}}
    refresh = {"extra_headers": {"x-llmdeck-cache": "refresh"}}
    assert ask(client, "exact", text, **bypass)[0] is None  # not looked up, not stored
    assert ask(client, "exact", text)[0] == "miss"
    assert ask(client, "exact", text)[0] == "hit"
    fake.set(reply="a better answer")
    assert ask(client, "exact", text, **refresh)[:2] == ("miss", "a better answer")
    fake.reset()
    assert ask(client, "exact", text)[:2] == ("hit", "a better answer")
    assert upstream_calls(fake) == 3
    stats = httpx.get(
        f"{server.url}/api/cache/stats", headers={"authorization": f"Bearer {ADMIN_KEY}"}
    ).json()["aliases"]["exact"]
    assert stats["suspected"].get("refresh", 0) >= 1  # the refreshed entry had been served


def test_unknown_cache_header_is_a_bad_request(client_for: Client) -> None:
    with pytest.raises(openai.BadRequestError, match="x-llmdeck-cache"):
        ask(client_for(), "exact", "x", extra_headers={"x-llmdeck-cache": "sometimes"})


def test_ttl_expiry(client_for: Client, unique: str) -> None:
    client = client_for()
    text = f"ttl {unique}"
    assert ask(client, "short", text)[0] == "miss"
    assert ask(client, "short", text)[0] == "hit"
    time.sleep(0.5)
    assert ask(client, "short", text)[0] == "miss"


def test_eviction_keeps_the_most_recently_used(client_for: Client, unique: str) -> None:
    client = client_for()
    a, b, c = (f"{name} {unique}" for name in "abc")
    for text in (a, b):
        assert ask(client, "small", text)[0] == "miss"
    assert ask(client, "small", a)[0] == "hit"  # a is now more recent than b
    assert ask(client, "small", c)[0] == "miss"  # evicts b
    time.sleep(0.05)  # the store of c runs after the reply
    assert ask(client, "small", a)[0] == "hit"
    assert ask(client, "small", b)[0] == "miss"


def test_uncached_alias_has_no_header(client_for: Client) -> None:
    assert ask(client_for(), "plain", "anything")[0] is None


def test_hit_records_what_it_saved(client_for: Client, server: ServerThread, unique: str) -> None:
    client = client_for()
    text = f"savings {unique}"
    _, _, miss_trace = ask(client, "exact", text)
    _, _, hit_trace = ask(client, "exact", text)
    miss, hit = span(server, miss_trace), span(server, hit_trace)
    assert miss.cost > 0 and miss.cache == "miss"
    assert hit.cache == "hit" and hit.cost == 0 and hit.deployment is None
    saved = hit.attributes
    assert saved["cache_saved_tokens"] == miss.input_tokens + miss.output_tokens
    assert saved["cache_saved_usd"] == pytest.approx(miss.cost)
    assert saved["cache_entry"]


def test_feedback_removes_a_wrong_answer(
    client_for: Client, server: ServerThread, unique: str
) -> None:
    client = client_for("sk-alice")
    text = f"feedback {unique}"
    ask(client, "exact", text)
    _, _, trace = ask(client, "exact", text)
    url = f"{server.url}/api/cache/feedback"
    body = {"trace_id": trace, "helpful": False}
    other = httpx.post(url, json=body, headers={"authorization": "Bearer sk-bob"})
    assert other.status_code == 404  # not bob's answer
    response = httpx.post(url, json=body, headers={"authorization": "Bearer sk-alice"})
    assert response.status_code == 200 and response.json()["removed"] is True
    assert ask(client, "exact", text)[0] == "miss"
    stats = httpx.get(
        f"{server.url}/api/cache/stats", headers={"authorization": f"Bearer {ADMIN_KEY}"}
    ).json()
    assert stats["aliases"]["exact"]["suspected"]["feedback"] >= 1
    forbidden = httpx.get(
        f"{server.url}/api/cache/stats", headers={"authorization": "Bearer sk-alice"}
    )
    assert forbidden.status_code == 403


def test_clear(client_for: Client, server: ServerThread, unique: str) -> None:
    client = client_for()
    text = f"clear {unique}"
    ask(client, "exact", text)
    time.sleep(0.05)
    auth = {"authorization": f"Bearer {ADMIN_KEY}"}
    response = httpx.delete(f"{server.url}/api/cache", params={"model": "exact"}, headers=auth)
    assert response.status_code == 200 and response.json()["removed"] >= 1
    assert ask(client, "exact", text)[0] == "miss"
    missing = httpx.delete(f"{server.url}/api/cache", params={"model": "nope"}, headers=auth)
    assert missing.status_code == 404
