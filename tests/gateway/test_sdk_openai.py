"""The official openai SDK against a running llmdeck, reaching OpenAI- and Anthropic-shaped
deployments (the fakes)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import openai
import pytest

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=10)


MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is up?"},
]


@pytest.mark.parametrize("alias", ["gpt", "claude"])
def test_complete(client: openai.OpenAI, fake: FakeProvider, alias: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=alias, messages=MESSAGES, max_tokens=50
    )  # type: ignore[arg-type]
    reply = raw.parse()
    assert reply.choices[0].message.content == "echo: What is up?"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    assert raw.headers["x-llmdeck-deployment"] == {"gpt": "oa", "claude": "an"}[alias]
    assert len(raw.headers["x-llmdeck-trace-id"]) == 32
    sent = fake.requests[-1]
    if alias == "claude":
        assert sent.path == "/v1/messages"
        assert sent.body["system"] == "Answer briefly."
        assert sent.body["max_tokens"] == 50
        assert sent.headers["x-api-key"] == "ak-fake"
    else:
        assert sent.path == "/v1/chat/completions"
        assert sent.body["model"] == "fake-chat"
        assert sent.headers["authorization"] == "Bearer sk-fake"


@pytest.mark.parametrize("alias", ["gpt", "claude"])
def test_stream(client: openai.OpenAI, alias: str) -> None:
    stream = client.chat.completions.create(
        model=alias,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: What is up?"
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] == ["stop"]
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[-1].prompt_tokens > 0 and usage[-1].completion_tokens > 0


def test_stream_without_usage_option_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt", messages=MESSAGES, stream=True))  # type: ignore[arg-type]
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


@pytest.mark.parametrize("alias", ["gpt", "claude"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(client: openai.OpenAI, fake: FakeProvider, alias: str, stream: bool) -> None:
    fake.set(tool_call={"name": "weather", "arguments": {"city": "Oslo"}})
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    if stream:
        chunks = list(
            client.chat.completions.create(model=alias, messages=MESSAGES, tools=tools, stream=True)
        )  # type: ignore[arg-type]
        deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        name = next(d.function.name for d in deltas if d.function and d.function.name)
        arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
        finish = [
            c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
        ]
        assert finish == ["tool_calls"]
    else:
        reply = client.chat.completions.create(model=alias, messages=MESSAGES, tools=tools)  # type: ignore[arg-type]
        call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
        name, arguments = call.function.name, call.function.arguments  # type: ignore[union-attr]
        assert reply.choices[0].finish_reason == "tool_calls"
    assert name == "weather"
    assert json.loads(arguments) == {"city": "Oslo"}
    if alias == "claude":
        assert fake.requests[-1].body["tools"][0]["input_schema"]["properties"]["city"] == {
            "type": "string"
        }


def test_multi_turn_tool_result_reaches_anthropic(
    client: openai.OpenAI, fake: FakeProvider
) -> None:
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "user", "content": "Thanks, and now?"},
    ]
    reply = client.chat.completions.create(
        model="claude", messages=messages, stop=["XYZ"], temperature=0.2
    )  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    body = fake.requests[-1].body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
        {"type": "text", "text": "Thanks, and now?"},
    ]
    assert body["stop_sequences"] == ["XYZ"] and body["temperature"] == 0.2


def test_embeddings_and_models(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="vectors", input=["one", "two"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 16
    assert result.data[0].embedding != result.data[1].embedding
    ids = {m.id for m in client.models.list()}
    assert {"gpt", "claude", "local", "vectors"} <= ids


def test_local_extractive_model(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="local",
        messages=[
            {"role": "system", "content": "The gateway listens on port 4000. Bananas are yellow."},
            {"role": "user", "content": "Which port does the gateway listen on?"},
        ],
    )
    assert reply.choices[0].message.content == "The gateway listens on port 4000."


def test_errors_are_the_sdk_exception_types(client: openai.OpenAI, server: ServerThread) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nope", messages=MESSAGES)  # type: ignore[arg-type]
    assert "known models: gpt, claude" in str(missing.value)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt", messages=[{"role": "wizard", "content": "x"}])  # type: ignore[arg-type,misc]
    assert "messages[0].role" in str(bad.value)
    raw = httpx.post(f"{server.url}/v1/chat/completions", content=b"{not json")
    assert raw.status_code == 400 and raw.json()["error"]["message"].startswith("invalid JSON body")
    raw = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": []})
    assert raw.json()["error"] == {
        "message": "model: is required",
        "type": "invalid_request_error",
        "code": "invalid_field",
        "param": "model",
    }


def test_failover_to_the_next_deployment(client: openai.OpenAI, fake: FakeProvider) -> None:
    raw = client.chat.completions.with_raw_response.create(model="failover", messages=MESSAGES)  # type: ignore[arg-type]
    assert raw.headers["x-llmdeck-deployment"] == "healthy"
    assert raw.parse().choices[0].message.content == "echo: What is up?"
    assert [r.outcome for r in fake.requests] == ["error:500", "ok"]


def test_all_deployments_down_names_them(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="down", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 503  # every deployment unavailable (503, dropped)
    assert "down-1" in caught.value.message and "down-2" in caught.value.message


def test_timeout_is_504_naming_the_deployment(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="slow", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 504
    assert "sleepy timed out" in caught.value.message


def test_upstream_rejecting_the_request_is_a_400_without_failover(
    client: openai.OpenAI, fake: FakeProvider
) -> None:
    fake.set(status=400)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="pair", messages=MESSAGES)  # type: ignore[arg-type]
    assert len(fake.requests) == 1


@pytest.mark.parametrize("alias", ["gpt", "claude"])
@pytest.mark.parametrize("knob", ["cut_after", "error_event_after"])
def test_stream_failing_after_first_token_raises_in_the_sdk(
    client: openai.OpenAI, fake: FakeProvider, alias: str, knob: str
) -> None:
    fake.set(chunks=6, **{knob: 2})
    stream = client.chat.completions.create(model=alias, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert received  # the first tokens arrived before the failure


def test_body_over_the_limit_is_413(settings_for: Callable[..., Settings]) -> None:
    with ServerThread(settings_for(server={"max_body_bytes": 1000})) as small:
        big = {"model": "gpt", "messages": [{"role": "user", "content": "x" * 5000}]}
        client = openai.OpenAI(base_url=f"{small.url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(**big)  # type: ignore[arg-type]
        assert caught.value.status_code == 413
