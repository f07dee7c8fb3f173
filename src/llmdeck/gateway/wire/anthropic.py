"""Anthropic Messages shapes and their translation to and from the gateway's OpenAI form.

Both directions are needed: a client speaking Messages may reach an OpenAI-compatible
deployment, and an OpenAI-shaped request may reach an Anthropic deployment. Streams translate
event by event, so time to first token is kept.
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal

import orjson
from pydantic import Field

from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionDef,
    Json,
    Message,
    PromptRef,
    Shape,
    Tool,
    ToolCall,
    Usage,
)

DEFAULT_MAX_TOKENS = 4096

_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}
_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


class AnthropicMessage(Shape):
    """One turn: `content` is text or a list of blocks (text, image, tool_use, tool_result)."""

    role: Literal["user", "assistant"]
    content: str | list[Json]


class AnthropicTool(Shape):
    """A tool offered to the model."""

    name: str
    description: str | None = None
    input_schema: Json = Field(default_factory=lambda: {"type": "object"})


class MessagesRequest(Shape):
    """POST /v1/messages."""

    model: str
    max_tokens: int = Field(ge=1)
    messages: list[AnthropicMessage] = Field(default_factory=list)
    system: str | list[Json] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stream: bool = False
    tools: list[AnthropicTool] | None = None
    tool_choice: Json | None = None
    metadata: Json | None = None
    # llmdeck extensions
    tags: list[str] | None = None
    user: str | None = None
    prompt: PromptRef | None = None


# ---- Messages request -> gateway (OpenAI) request -------------------------------------------


def to_chat_request(req: MessagesRequest) -> ChatRequest:
    """Translate a Messages request into the gateway's chat request."""
    messages: list[Message] = []
    if req.system:
        messages.append(Message(role="system", content=_blocks_text(req.system)))
    for turn in req.messages:
        messages.extend(_turn_to_messages(turn))
    metadata = dict(req.metadata or {})
    user = req.user or metadata.pop("user_id", None)
    fields: dict[str, Any] = {
        "model": req.model,
        "messages": messages,
        "max_tokens": req.max_tokens,
        "stream": req.stream,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "stop": req.stop_sequences,
        "user": user,
        "metadata": metadata or None,
        "tags": req.tags,
        "prompt": req.prompt,
    }
    if req.tools:
        fields["tools"] = [
            Tool(
                function=FunctionDef(
                    name=t.name, description=t.description, parameters=t.input_schema
                )
            )
            for t in req.tools
        ]
    if req.tool_choice:
        fields["tool_choice"], parallel = _tool_choice_to_openai(req.tool_choice)
        if parallel is not None:
            fields["parallel_tool_calls"] = parallel
    return ChatRequest(**{k: v for k, v in fields.items() if v is not None})


def _blocks_text(content: str | list[Json]) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(b.get("text", "")) for b in content if b.get("type") == "text")


def _turn_to_messages(turn: AnthropicMessage) -> list[Message]:
    if isinstance(turn.content, str):
        return [Message(role=turn.role, content=turn.content)]
    if turn.role == "assistant":
        text = "".join(str(b.get("text", "")) for b in turn.content if b.get("type") == "text")
        calls = [
            ToolCall(
                id=b.get("id"),
                function=FunctionCall(name=b.get("name"), arguments=_dumps(b.get("input", {}))),
            )
            for b in turn.content
            if b.get("type") == "tool_use"
        ]
        return [Message(role="assistant", content=text or None, tool_calls=calls or None)]
    out: list[Message] = []
    parts: list[Json] = []
    for block in turn.content:
        kind = block.get("type")
        if kind == "tool_result":
            out.append(
                Message(
                    role="tool",
                    tool_call_id=block.get("tool_use_id"),
                    content=_blocks_text(block.get("content") or ""),
                )
            )
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_to_openai(block))
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        content: str | list[Json] = "".join(p["text"] for p in parts) if only_text else parts
        out.append(Message(role="user", content=content))
    return out


def _image_to_openai(block: Json) -> Json:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    else:
        url = str(source.get("url", ""))
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_choice_to_openai(choice: Json) -> tuple[str | Json, bool | None]:
    kind = choice.get("type")
    parallel = False if choice.get("disable_parallel_tool_use") else None
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", parallel
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}, parallel
    return "auto", parallel


# ---- gateway (OpenAI) request -> Messages body -----------------------------------------------


def from_chat_request(req: ChatRequest, model: str) -> Json:
    """The Messages API body for an Anthropic upstream serving `model`."""
    system = [m.text() for m in req.messages if m.role in ("system", "developer")]
    turns: list[Json] = []
    for message in req.messages:
        if message.role in ("system", "developer"):
            continue
        role, blocks = _message_to_blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    body: Json = {
        "model": model,
        "max_tokens": req.output_limit() or DEFAULT_MAX_TOKENS,
        "messages": turns,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if req.temperature is not None:
        body["temperature"] = min(req.temperature, 1.0)
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.stop_list():
        body["stop_sequences"] = req.stop_list()
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.tools:
        body["tools"] = [
            {
                "name": t.function.name,
                "description": t.function.description or "",
                "input_schema": t.function.parameters or {"type": "object", "properties": {}},
            }
            for t in req.tools
        ]
    if req.tool_choice is not None and req.tools:
        body["tool_choice"] = _tool_choice_to_anthropic(req.tool_choice, req.parallel_tool_calls)
    if req.stream:
        body["stream"] = True
    return body


def _message_to_blocks(message: Message) -> tuple[str, list[Json]]:
    if message.role == "tool":
        block = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": message.text(),
        }
        return "user", [block]
    role = "assistant" if message.role == "assistant" else "user"
    blocks: list[Json] = []
    if isinstance(message.content, str):
        if message.content:
            blocks.append({"type": "text", "text": message.content})
    elif message.content:
        blocks.extend(_part_to_block(p) for p in message.content)
    for call in message.tool_calls or []:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": _loads_object(call.function.arguments),
            }
        )
    return role, blocks


def _part_to_block(part: Json) -> Json:
    if part.get("type") == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith("data:") and ";base64," in url:
            media_type, data = url[5:].split(";base64,", 1)
            return {
                "type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data},
            }
        return {"type": "image", "source": {"type": "url", "url": url}}
    return {"type": "text", "text": str(part.get("text", ""))}


def _tool_choice_to_anthropic(choice: str | Json, parallel: bool | None) -> Json:
    if isinstance(choice, dict):
        out: Json = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        out = {"type": {"required": "any", "none": "none"}.get(choice, "auto")}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


# ---- responses --------------------------------------------------------------------------------


def to_chat_response(body: Json) -> ChatResponse:
    """Translate a Messages API response into a chat completion."""
    text = "".join(b.get("text", "") for b in body.get("content", []) if b.get("type") == "text")
    calls = [
        ToolCall(
            id=b.get("id"),
            function=FunctionCall(name=b.get("name"), arguments=_dumps(b.get("input", {}))),
        )
        for b in body.get("content", [])
        if b.get("type") == "tool_use"
    ]
    message = Message(
        role="assistant", content=text if text or not calls else None, tool_calls=calls or None
    )
    return ChatResponse(
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        choices=[
            Choice(
                message=message,
                finish_reason=_STOP_TO_FINISH.get(body.get("stop_reason") or "", "stop"),
            )
        ],
        usage=usage_from_anthropic(body.get("usage") or {}),
    )


def usage_from_anthropic(usage: Json) -> Usage:
    """Anthropic counts cached tokens apart from input tokens; OpenAI counts them inside."""
    cached = int(usage.get("cache_read_input_tokens") or 0)
    created = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cached + created
    return Usage.of(prompt, int(usage.get("output_tokens") or 0), cached)


def usage_to_anthropic(usage: Usage | None) -> Json:
    """The Messages API usage object."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = usage.cached_tokens
    return {
        "input_tokens": max(0, usage.prompt_tokens - cached),
        "output_tokens": usage.completion_tokens,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def from_chat_response(resp: ChatResponse, model: str) -> Json:
    """Translate a chat completion into a Messages API response."""
    choice = (
        resp.choices[0] if resp.choices else Choice(message=Message(role="assistant", content=""))
    )
    content: list[Json] = []
    text = choice.message.text()
    if text:
        content.append({"type": "text", "text": text})
    for call in choice.message.tool_calls or []:
        content.append(
            {
                "type": "tool_use",
                "id": call.id or _tool_id(),
                "name": call.function.name,
                "input": _loads_object(call.function.arguments),
            }
        )
    return {
        "id": _message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _FINISH_TO_STOP.get(choice.finish_reason or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": usage_to_anthropic(resp.usage),
    }


# ---- streams -----------------------------------------------------------------------------------


class ChunksFromEvents:
    """Turns Anthropic stream events into chat chunks, one event at a time."""

    def __init__(self, model: str) -> None:
        self.id = ""
        self.model = model
        self.input_usage: Json = {}
        self.tool_index: dict[int, int] = {}

    def feed(self, event: Json) -> list[ChatChunk]:
        """The chunks (zero or more) that carry this event's content."""
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = str(message.get("id", ""))
            self.input_usage = message.get("usage") or {}
            return [self._chunk(Delta(role="assistant", content=""))]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tool_index.setdefault(int(event.get("index", 0)), len(self.tool_index))
                call = ToolCall(
                    index=index,
                    id=block.get("id"),
                    function=FunctionCall(name=block.get("name"), arguments=""),
                )
                return [self._chunk(Delta(tool_calls=[call]))]
            if block.get("text"):
                return [self._chunk(Delta(content=block["text"]))]
            return []
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            usage = {**self.input_usage, **(event.get("usage") or {})}
            reason = _STOP_TO_FINISH.get(
                (event.get("delta") or {}).get("stop_reason") or "", "stop"
            )
            final = self._chunk(Delta(), finish_reason=reason)
            final.usage = usage_from_anthropic(usage)
            return [final]
        return []

    def _delta(self, event: Json) -> list[ChatChunk]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunk(Delta(content=delta.get("text", "")))]
        if delta.get("type") == "input_json_delta":
            index = self.tool_index.get(int(event.get("index", 0)), 0)
            call = ToolCall(
                index=index,
                id=None,
                type=None,
                function=FunctionCall(arguments=delta.get("partial_json", "")),
            )
            return [self._chunk(Delta(tool_calls=[call]))]
        return []

    def _chunk(self, delta: Delta, finish_reason: str | None = None) -> ChatChunk:
        return ChatChunk(
            id=self.id,
            model=self.model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
        )


class EventsFromChunks:
    """Turns chat chunks into Anthropic stream events (name, data), one chunk at a time."""

    def __init__(self, model: str, message_id: str) -> None:
        self.model = model
        self.message_id = _message_id(message_id)
        self.started = False
        self.block_index = -1
        self.block_kind = ""
        self.tool_blocks: dict[int, int] = {}
        self.stop_reason = "end_turn"
        self.usage: Usage | None = None

    def feed(self, chunk: ChatChunk) -> list[tuple[str, Json]]:
        """The events that carry this chunk."""
        events = [] if self.started else [self._start(chunk)]
        self.started = True
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            if choice.delta.content:
                events.extend(self._open("text"))
                events.append(
                    self._block_delta({"type": "text_delta", "text": choice.delta.content})
                )
            for call in choice.delta.tool_calls or []:
                events.extend(self._tool_delta(call))
            if choice.finish_reason:
                self.stop_reason = _FINISH_TO_STOP.get(choice.finish_reason, "end_turn")
        return events

    def finish(self) -> list[tuple[str, Json]]:
        """The closing events: the last block's stop, message_delta and message_stop."""
        events = [] if self.started else [self._start(None)]
        self.started = True
        events.extend(self._close())
        usage = usage_to_anthropic(self.usage)
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _start(self, chunk: ChatChunk | None) -> tuple[str, Json]:
        message: Json = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return "message_start", {"type": "message_start", "message": message}

    def _open(self, kind: str, block: Json | None = None) -> list[tuple[str, Json]]:
        if self.block_kind == kind and kind == "text":
            return []
        events = self._close()
        self.block_index += 1
        self.block_kind = kind
        content_block = block or {"type": "text", "text": ""}
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": self.block_index,
                    "content_block": content_block,
                },
            )
        )
        return events

    def _close(self) -> list[tuple[str, Json]]:
        if not self.block_kind:
            return []
        self.block_kind = ""
        return [("content_block_stop", {"type": "content_block_stop", "index": self.block_index})]

    def _block_delta(self, delta: Json) -> tuple[str, Json]:
        return "content_block_delta", {
            "type": "content_block_delta",
            "index": self.block_index,
            "delta": delta,
        }

    def _tool_delta(self, call: ToolCall) -> list[tuple[str, Json]]:
        events: list[tuple[str, Json]] = []
        position = call.index or 0
        if position not in self.tool_blocks:
            block = {
                "type": "tool_use",
                "id": call.id or _tool_id(),
                "name": call.function.name or "",
                "input": {},
            }
            events.extend(self._open(f"tool:{position}", block))
            self.tool_blocks[position] = self.block_index
        if call.function.arguments:
            events.append(
                self._block_delta(
                    {"type": "input_json_delta", "partial_json": call.function.arguments}
                )
            )
        return events


# ---- helpers -------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _loads_object(text: str | None) -> Json:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"value": value}


def _message_id(source: str) -> str:
    return source if source.startswith("msg_") else f"msg_{source or int(time.time() * 1000)}"


def _tool_id() -> str:
    return f"toolu_{os.urandom(12).hex()}"
