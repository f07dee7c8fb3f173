"""The fake's OpenAI routes, driven by the official `openai` SDK."""

from __future__ import annotations

import math
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionToolParam

from llmdeck.testing import FakeProvider, ToolCall, Usage, estimate_tokens

from .conftest import ECHO, USER, raw

TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
]
WEATHER = ToolCall(name="get_weather", arguments={"city": "Paris", "unit": "celsius"})


def test_chat_echoes_the_last_user_message_with_estimated_usage(oai: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    raw_response = oai.chat.completions.with_raw_response.create(model="gpt-x", messages=messages)
    completion = raw_response.parse()

    assert completion.model == "gpt-x"
    assert completion.choices[0].message.content == "echo: second"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == estimate_tokens("Be brief.\nfirst\nok\nsecond")
    assert completion.usage.completion_tokens == estimate_tokens("echo: second")
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert raw_response.headers["x-request-id"].startswith("req_fake")


def test_stream_splits_the_reply_into_chunks_and_ends_with_usage(
    oai: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    fake_provider.set(chunks=5)
    stream = oai.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    plain = oai.chat.completions.create(model="m", messages=USER)

    contents = [c.choices[0].delta.content for c in chunks if c.choices]
    assert contents[0] == ""  # the role chunk
    assert "".join(c or "" for c in contents) == ECHO
    assert len([c for c in contents[1:] if c]) == 5
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model="m", messages=USER, stream=True))

    assert all(c.usage is None and c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_call_when_the_request_offers_tools(
    oai: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    fake_provider.set(tool_call=WEATHER)
    completion = oai.chat.completions.create(model="m", messages=USER, tools=TOOLS)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris","unit":"celsius"}'
    assert completion.usage is not None
    assert completion.usage.completion_tokens == estimate_tokens(call.function.arguments)


def test_streamed_tool_call_arguments_add_up(
    oai: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    fake_provider.set(tool_call=WEATHER, chunks=3)
    chunks = list(oai.chat.completions.create(model="m", messages=USER, tools=TOOLS, stream=True))

    calls = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    first = calls[0][0]
    assert first.id and first.function and first.function.name == "get_weather"
    arguments = "".join((c[0].function.arguments or "") for c in calls if c[0].function)
    assert arguments == '{"city":"Paris","unit":"celsius"}'
    assert len(calls) == 4
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_no_tool_call_without_tools(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    fake_provider.set(tool_call=WEATHER)
    completion = oai.chat.completions.create(model="m", messages=USER)

    assert completion.choices[0].message.content == ECHO
    assert completion.choices[0].message.tool_calls is None


def test_fixed_reply_usage_override_and_max_tokens(
    oai: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    fake_provider.set(reply="Paris.", usage=Usage(input_tokens=120, cached_tokens=100))
    completion = oai.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "Paris."
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (120, 2)
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 100

    fake_provider.reset()
    cut = oai.chat.completions.create(model="m", messages=USER, max_completion_tokens=2)
    assert cut.choices[0].message.content == ECHO[:8]
    assert cut.choices[0].finish_reason == "length"


def test_embeddings_are_deterministic_unit_vectors(oai: openai.OpenAI) -> None:
    floats = oai.embeddings.create(model="e", input=["a", "b"], encoding_format="float")
    default = oai.embeddings.create(model="e", input=["a", "b"])  # the SDK asks for base64
    again = oai.embeddings.create(model="e", input="a", encoding_format="float")
    sized = oai.embeddings.create(model="e", input="a", dimensions=64)

    vectors = [d.embedding for d in floats.data]
    assert vectors == [d.embedding for d in default.data]
    assert again.data[0].embedding == vectors[0] != vectors[1]
    assert len(vectors[0]) == 16 and len(sized.data[0].embedding) == 64
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-5)
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.usage.prompt_tokens == 2


def test_embeddings_dimension_knob(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    fake_provider.set(embedding_dim=384)
    response = oai.embeddings.create(model="e", input=[[1, 2, 3]], encoding_format="float")

    assert len(response.data[0].embedding) == 384
    assert response.usage.prompt_tokens == 3


def test_models(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    assert [m.id for m in oai.models.list()] == ["fake-chat", "fake-embedding"]
    fake_provider.set(models=("gpt-4o-mini",))
    assert [m.id for m in oai.models.list()] == ["gpt-4o-mini"]


def test_bad_requests_get_openai_400s(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="m", messages=[])
    assert caught.value.type == "invalid_request_error"
    assert "messages" in caught.value.message

    response = raw(fake_provider, "POST", "/v1/chat/completions", b"{not json")
    assert response.status == 400
    error = response.json()["error"]
    assert error["message"].startswith("The request body is not valid JSON")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)
    assert raw(fake_provider, "POST", "/v1/embeddings", {"model": "e"}).status == 400


def test_unknown_route_is_an_openai_404(fake_provider: FakeProvider) -> None:
    response = raw(fake_provider, "POST", "/v1/completions", {"prompt": "x"})

    assert response.status == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/completions)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert fake_provider.requests[-1].outcome == "error:404"
