"""Translation between the Anthropic Messages shape and the gateway's OpenAI form."""

from __future__ import annotations

import orjson

from llmdeck.gateway.wire.anthropic import (
    ChunksFromEvents,
    EventsFromChunks,
    MessagesRequest,
    from_chat_request,
    from_chat_response,
    to_chat_request,
    to_chat_response,
)
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ChunkChoice,
    Delta,
    FunctionCall,
    ToolCall,
    Usage,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_messages_request_becomes_chat_request() -> None:
    incoming = MessagesRequest.model_validate(
        {
            "model": "chat",
            "max_tokens": 200,
            "system": [{"type": "text", "text": "Be brief."}],
            "stop_sequences": ["END"],
            "temperature": 0.3,
            "metadata": {"user_id": "u-1"},
            "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {"type": "text", "text": "And tomorrow?"},
                    ],
                },
            ],
        }
    )
    chat = to_chat_request(incoming)
    assert chat.max_tokens == 200 and chat.stop == ["END"] and chat.user == "u-1"
    assert chat.tool_choice == "required" and chat.parallel_tool_calls is False
    assert [m.role for m in chat.messages] == ["system", "user", "assistant", "tool", "user"]
    assert chat.messages[0].content == "Be brief."
    call = chat.messages[2].tool_calls[0]  # type: ignore[index]
    assert call.id == "toolu_1" and orjson.loads(call.function.arguments or "") == {"city": "Paris"}
    assert chat.messages[3].tool_call_id == "toolu_1" and chat.messages[3].content == "sunny"
    assert chat.tools is not None and chat.tools[0].function.name == "weather"


def test_chat_request_becomes_messages_body() -> None:
    chat = ChatRequest.model_validate(
        {
            "model": "x",
            "max_completion_tokens": 50,
            "temperature": 1.5,
            "stop": "STOP",
            "user": "u-2",
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "messages": [
                {"role": "system", "content": "sys one"},
                {"role": "developer", "content": "sys two"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                    ],
                },
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
                {"role": "tool", "tool_call_id": "call_2", "content": "snow"},
            ],
        }
    )
    body = from_chat_request(chat, "claude-haiku-4-5")
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 50
    assert body["system"] == "sys one\n\nsys two"
    assert body["temperature"] == 1.0 and body["stop_sequences"] == ["STOP"]
    assert body["metadata"] == {"user_id": "u-2"}
    assert body["tool_choice"] == {"type": "tool", "name": "weather"}
    assert body["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}
    roles = [t["role"] for t in body["messages"]]
    assert roles == ["user", "assistant", "user"]  # consecutive tool results merge into one turn
    image = body["messages"][0]["content"][1]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AAA"},
    }
    assert body["messages"][1]["content"][0]["input"] == {"city": "Oslo"}
    assert [b["tool_use_id"] for b in body["messages"][2]["content"]] == ["call_1", "call_2"]


def test_responses_translate_both_ways_with_usage_and_tools() -> None:
    anthropic = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Rome"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 90},
    }
    chat = to_chat_response(anthropic)
    assert chat.choices[0].finish_reason == "tool_calls"
    assert chat.usage == Usage.of(100, 7, 90)
    back = from_chat_response(chat, "chat")
    assert back["stop_reason"] == "tool_use"
    assert back["content"] == anthropic["content"]
    assert back["usage"]["input_tokens"] == 10 and back["usage"]["cache_read_input_tokens"] == 90


def test_anthropic_events_become_chunks() -> None:
    translate = ChunksFromEvents("claude")
    events = [
        {
            "type": "message_start",
            "message": {"id": "msg_7", "usage": {"input_tokens": 12, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"ci'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": 'ty":"X"}'},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    chunks = [c for e in events for c in translate.feed(e)]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hi"
    args = "".join(
        (tc.function.arguments or "")
        for c in chunks
        for tc in (c.choices[0].delta.tool_calls or [])
    )
    assert args == '{"city":"X"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage == Usage.of(12, 9)
    assert {c.id for c in chunks} == {"msg_7"}


def chunk(delta: Delta, finish: str | None = None, usage: Usage | None = None) -> ChatChunk:
    return ChatChunk(
        id="c1", model="m", choices=[ChunkChoice(delta=delta, finish_reason=finish)], usage=usage
    )


def test_chunks_become_anthropic_events() -> None:
    events = EventsFromChunks("chat", "abc")
    out = []
    for c in [
        chunk(Delta(role="assistant", content="")),
        chunk(Delta(content="Hel")),
        chunk(Delta(content="lo")),
        chunk(
            Delta(
                tool_calls=[
                    ToolCall(index=0, id="call_1", function=FunctionCall(name="f", arguments=""))
                ]
            )
        ),
        chunk(Delta(tool_calls=[ToolCall(index=0, function=FunctionCall(arguments='{"a":1}'))])),
        chunk(Delta(), finish="tool_calls"),
        ChatChunk(id="c1", model="m", choices=[], usage=Usage.of(5, 3)),
    ]:
        out.extend(events.feed(c))
    out.extend(events.finish())
    names = [name for name, _ in out]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert out[5][1]["content_block"]["name"] == "f" and out[5][1]["index"] == 1
    assert out[6][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"a":1}'}
    assert out[8][1]["delta"]["stop_reason"] == "tool_use"
    assert out[8][1]["usage"]["output_tokens"] == 3


def test_response_without_choices_is_an_empty_message() -> None:
    empty = ChatResponse(id="x", model="m", choices=[])
    assert from_chat_response(empty, "chat")["content"] == []
