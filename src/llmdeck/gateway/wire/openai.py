"""OpenAI Chat Completions and Embeddings shapes: the gateway's internal form.

Models allow extra fields so that parameters llmdeck does not know pass through to
OpenAI-compatible upstreams untouched.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Json = dict[str, Any]


class Shape(BaseModel):
    """Base of every wire shape: unknown fields are kept and passed on."""

    model_config = ConfigDict(extra="allow")


class FunctionCall(Shape):
    """The function a tool call invokes; `arguments` is a JSON string."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(Shape):
    """A tool call made by the assistant (in a message, or a delta with `index`)."""

    id: str | None = None
    type: Literal["function"] | None = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)
    index: int | None = None


class Message(Shape):
    """One chat message. `content` is text, a list of parts, or None (tool calls only)."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Json] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The text of the message, joining text parts."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class FunctionDef(Shape):
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: Json | None = None


class Tool(Shape):
    """A tool offered to the model."""

    type: Literal["function"] = "function"
    function: FunctionDef


class PromptRef(Shape):
    """llmdeck extension: render a registered prompt into the messages server-side."""

    name: str
    label: str | None = None
    version: int | None = None
    variables: Json = Field(default_factory=dict)


# Request fields that are llmdeck's own; never sent upstream.
EXTENSIONS = frozenset({"metadata", "tags", "prompt"})


class ChatRequest(Shape):
    """POST /v1/chat/completions."""

    model: str
    messages: list[Message] = Field(default_factory=list)
    stream: bool = False
    stream_options: Json | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1)
    tools: list[Tool] | None = None
    tool_choice: str | Json | None = None
    parallel_tool_calls: bool | None = None
    response_format: Json | None = None
    seed: int | None = None
    user: str | None = None
    # llmdeck extensions (EXTENSIONS)
    metadata: Json | None = None
    tags: list[str] | None = None
    prompt: PromptRef | None = None

    def output_limit(self) -> int | None:
        """The most tokens the reply may have, whichever field the client used."""
        return self.max_completion_tokens or self.max_tokens

    def stop_list(self) -> list[str]:
        """Stop sequences as a list."""
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def upstream_body(self, model: str) -> Json:
        """The JSON body for an OpenAI-compatible upstream serving `model`."""
        body = self.model_dump(exclude_unset=True, exclude_none=True, exclude=set(EXTENSIONS))
        body["model"] = model
        return body


class Usage(Shape):
    """Token counts. `prompt_tokens_details.cached_tokens` counts cache reads."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: Json | None = None

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens served from the provider's prompt cache."""
        details = self.prompt_tokens_details or {}
        return int(details.get("cached_tokens") or 0)

    @classmethod
    def of(cls, prompt: int, completion: int, cached: int = 0) -> Usage:
        """Usage from counts."""
        details = {"cached_tokens": cached} if cached else None
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            prompt_tokens_details=details,
        )


class Choice(Shape):
    """One completion choice."""

    index: int = 0
    message: Message
    finish_reason: str | None = None


class ChatResponse(Shape):
    """A complete chat completion."""

    id: str
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage | None = None


class Delta(Shape):
    """The increment a stream chunk carries."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChunkChoice(Shape):
    """One choice in a stream chunk."""

    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None


class ChatChunk(Shape):
    """One server-sent chunk of a streamed chat completion."""

    id: str
    object: str = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None


class EmbeddingRequest(Shape):
    """POST /v1/embeddings."""

    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    metadata: Json | None = None
    tags: list[str] | None = None

    def texts(self) -> list[str]:
        """The input as a list of strings (token-id inputs are not supported by local models)."""
        if isinstance(self.input, str):
            return [self.input]
        return [x if isinstance(x, str) else str(x) for x in self.input]

    def upstream_body(self, model: str) -> Json:
        """The JSON body for an OpenAI-compatible upstream serving `model`."""
        body = self.model_dump(exclude_unset=True, exclude_none=True, exclude={"metadata", "tags"})
        body["model"] = model
        return body


class Embedding(Shape):
    """One vector (a list of floats, or base64 of little-endian float32)."""

    object: str = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingResponse(Shape):
    """The embeddings of every input, in order."""

    object: str = "list"
    data: list[Embedding]
    model: str
    usage: Usage = Field(default_factory=Usage)


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> Json:
    """The OpenAI error body."""
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}
