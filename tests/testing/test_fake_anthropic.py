"""The fake's Anthropic Messages route, driven by the official `anthropic` SDK."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types import ToolParam

from llmdeck.testing import FakeProvider, ToolCall, Usage, estimate_tokens

from .conftest import ECHO, USER, anthropic_client, raw

TOOLS: list[ToolParam] = [{"name": "get_weather", "input_schema": {"type": "object"}}]
WEATHER = ToolCall(name="get_weather", arguments={"city": "Paris"})


def test_message_echoes_the_last_user_text(claude: anthropic.Anthropic) -> None:
    response = claude.messages.with_raw_response.create(
        model="claude-x",
        max_tokens=100,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
    )
    message = response.parse()

    assert message.model == "claude-x"
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: second"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == estimate_tokens("Be brief.\nfirst\nok\nsecond")
    assert message.usage.output_tokens == estimate_tokens("echo: second")
    assert message.usage.cache_read_input_tokens == 0
    assert response.headers["request-id"].startswith("req_fake")


def test_stream_events_in_order(claude: anthropic.Anthropic) -> None:
    events = list(claude.messages.create(model="m", max_tokens=100, messages=USER, stream=True))

    kinds = [e.type for e in events]
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert "".join(d.text for d in deltas if d.type == "text_delta") == ECHO


def test_raw_stream_has_a_ping_and_named_events(fake_provider: FakeProvider) -> None:
    body = {"model": "m", "max_tokens": 10, "messages": USER, "stream": True}
    response = raw(fake_provider, "POST", "/v1/messages", body)

    assert response.headers["content-type"].startswith("text/event-stream")
    names = [line[7:] for line in response.body.decode().splitlines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-1] == "message_stop"


def test_stream_helper_gives_the_same_message_as_create(
    claude: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    fake_provider.set(usage=Usage(input_tokens=50, cached_tokens=30))
    with claude.messages.stream(model="m", max_tokens=100, messages=USER) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    plain = claude.messages.create(model="m", max_tokens=100, messages=USER)

    assert "".join(texts) == ECHO
    assert [b.model_dump(exclude={"parsed_output"}) for b in final.content] == [
        b.model_dump() for b in plain.content
    ]
    assert final.usage.input_tokens == plain.usage.input_tokens == 20
    assert final.usage.cache_read_input_tokens == plain.usage.cache_read_input_tokens == 30
    assert final.usage.output_tokens == plain.usage.output_tokens == estimate_tokens(ECHO)


def test_tool_use_block(claude: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    fake_provider.set(tool_call=WEATHER)
    message = claude.messages.create(model="m", max_tokens=100, messages=USER, tools=TOOLS)
    with claude.messages.stream(model="m", max_tokens=100, messages=USER, tools=TOOLS) as stream:
        partials = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()

    for result in (message, final):
        block = result.content[0]
        assert block.type == "tool_use"
        assert (block.name, block.input) == ("get_weather", {"city": "Paris"})
        assert result.stop_reason == "tool_use"
    assert "".join(partials) == '{"city":"Paris"}'


def test_max_tokens_cuts_the_reply(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="m", max_tokens=1, messages=USER)

    assert message.content[0].type == "text" and message.content[0].text == ECHO[:4]
    assert message.stop_reason == "max_tokens"


def test_api_key_knob_checks_the_headers(fake_provider: FakeProvider) -> None:
    fake_provider.set(api_key="sk-ant-right")
    with (
        anthropic_client(fake_provider, key="sk-ant-wrong") as wrong,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        wrong.messages.create(model="m", max_tokens=10, messages=USER)
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": "req_fake",
    }
    with anthropic_client(fake_provider, key="sk-ant-right") as right:
        assert right.messages.create(model="m", max_tokens=10, messages=USER).content

    body = {"model": "m", "max_tokens": 10, "messages": USER}
    unversioned = raw(fake_provider, "POST", "/v1/messages", body, {"x-api-key": "sk-ant-right"})
    assert unversioned.status == 400
    assert "anthropic-version" in unversioned.json()["error"]["message"]


def test_missing_fields_are_anthropic_400s(fake_provider: FakeProvider) -> None:
    response = raw(fake_provider, "POST", "/v1/messages", {"model": "m", "messages": USER})

    assert response.status == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


def test_models_in_anthropic_shape(claude: anthropic.Anthropic) -> None:
    models = list(claude.models.list())

    assert [(m.id, m.type) for m in models] == [("fake-chat", "model"), ("fake-embedding", "model")]
