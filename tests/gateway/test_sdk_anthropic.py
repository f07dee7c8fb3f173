"""The official anthropic SDK against a running llmdeck, reaching Anthropic- and
OpenAI-shaped deployments (the fakes)."""

from __future__ import annotations

import anthropic
import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread


@pytest.fixture
def client(server: ServerThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0, timeout=10)


MESSAGES = [{"role": "user", "content": "Hello there"}]


@pytest.mark.parametrize("alias", ["claude", "gpt"])
def test_complete(client: anthropic.Anthropic, fake: FakeProvider, alias: str) -> None:
    reply = client.messages.create(
        model=alias,
        max_tokens=64,
        system="Be kind.",
        messages=MESSAGES,
        stop_sequences=["ZZ"],  # type: ignore[arg-type]
    )
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.content[0].type == "text" and reply.content[0].text == "echo: Hello there"
    assert reply.stop_reason == "end_turn"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    sent = fake.requests[-1].body
    if alias == "gpt":
        assert sent["messages"][0] == {"role": "system", "content": "Be kind."}
        assert sent["max_tokens"] == 64 and sent["stop"] == ["ZZ"]
    else:
        assert sent["system"] == "Be kind." and sent["stop_sequences"] == ["ZZ"]


@pytest.mark.parametrize("alias", ["claude", "gpt"])
def test_stream(client: anthropic.Anthropic, alias: str) -> None:
    with client.messages.stream(model=alias, max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: Hello there"
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("alias", ["claude", "gpt"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_use(
    client: anthropic.Anthropic, fake: FakeProvider, alias: str, stream: bool
) -> None:
    fake.set(tool_call={"name": "lookup", "arguments": {"q": "llmdeck"}})
    tools = [{"name": "lookup", "description": "Search", "input_schema": {"type": "object"}}]
    if stream:
        with client.messages.stream(
            model=alias, max_tokens=64, messages=MESSAGES, tools=tools
        ) as s:  # type: ignore[arg-type]
            final = s.get_final_message()
    else:
        final = client.messages.create(model=alias, max_tokens=64, messages=MESSAGES, tools=tools)  # type: ignore[arg-type]
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "lookup" and uses[0].input == {"q": "llmdeck"}
    assert final.stop_reason == "tool_use"


def test_tool_result_turn_reaches_openai(client: anthropic.Anthropic, fake: FakeProvider) -> None:
    client.messages.create(
        model="gpt",
        max_tokens=32,
        messages=[
            {"role": "user", "content": "search please"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"}],
            },
        ],
    )
    sent = fake.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "toolu_1"
    assert sent[2] == {"role": "tool", "content": "found", "tool_call_id": "toolu_1"}


def test_errors_are_the_sdk_exception_types(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="nope", max_tokens=5, messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="claude", max_tokens=0, messages=MESSAGES)  # type: ignore[arg-type]
    assert "max_tokens" in str(bad.value)
    with pytest.raises(anthropic.InternalServerError) as down:
        client.messages.create(model="down", max_tokens=5, messages=MESSAGES)  # type: ignore[arg-type]
    assert "down-1" in str(down.value)


@pytest.mark.parametrize("alias", ["claude", "gpt"])
def test_stream_failing_after_first_token_raises(
    client: anthropic.Anthropic, fake: FakeProvider, alias: str
) -> None:
    fake.set(chunks=6, error_event_after=2)
    with pytest.raises(anthropic.APIError):  # noqa: SIM117
        with client.messages.stream(model=alias, max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
            for _ in stream.text_stream:
                pass
