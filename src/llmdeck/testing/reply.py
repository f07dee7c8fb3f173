"""The fake's reply in neither provider's shape: its text or tool call, and its token counts.

Token counts are a deterministic estimate, the same for streaming and non-streaming answers:
`estimate_tokens(text) = ceil(len(text) / 4)`. The prompt's count is the estimate of all its text
(system prompt and every message's text parts, joined by newlines); the completion's count is the
estimate of the reply text, or of the tool call's JSON arguments. `Behaviour.usage` overrides any
of them. With `max_tokens` in the request, the reply is cut to `4 * max_tokens` characters and the
finish reason says so.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from llmdeck.testing.knobs import Behaviour, ToolCall

Finish = Literal["stop", "length", "tool"]
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """The fake's token estimate: one token per four characters, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: text or a tool call (with its JSON arguments), counts, and why it stopped."""

    serial: int
    text: str
    tool: ToolCall | None
    arguments: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    finish: Finish


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the fake reads from a chat request, whichever provider's shape it came in."""

    last_user_text: str
    all_text: str
    has_tools: bool
    max_tokens: int | None


def make_reply(prompt: Prompt, behaviour: Behaviour, serial: int) -> Reply:
    """The reply `behaviour` gives to `prompt`."""
    tool = behaviour.tool_call if prompt.has_tools else None
    text = "" if tool else behaviour.reply
    if text is None:
        text = f"echo: {prompt.last_user_text}"
    finish: Finish = "tool" if tool else "stop"
    if prompt.max_tokens is not None and estimate_tokens(text) > prompt.max_tokens:
        text, finish = text[: prompt.max_tokens * CHARS_PER_TOKEN], "length"
    arguments = orjson.dumps(tool.arguments).decode() if tool else ""
    usage = behaviour.usage
    input_tokens = usage.input_tokens
    output_tokens = usage.output_tokens
    return Reply(
        serial=serial,
        text=text,
        tool=tool,
        arguments=arguments,
        input_tokens=estimate_tokens(prompt.all_text) if input_tokens is None else input_tokens,
        output_tokens=estimate_tokens(arguments or text)
        if output_tokens is None
        else output_tokens,
        cached_tokens=usage.cached_tokens or 0,
        finish=finish,
    )


def text_of(content: Any) -> str:
    """The text in a message's content: a string, or the text of its parts (and tool results)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "tool_result":
            texts.append(text_of(part.get("content")))
    return " ".join(texts)


def read_prompt(messages: Any, extra_text: Iterable[str], body: dict[str, Any]) -> Prompt:
    """A `Prompt` from chat `messages`, plus text that lives outside them (a system prompt)."""
    texts = [t for t in extra_text if t]
    last_user = ""
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        text = text_of(message.get("content"))
        texts.append(text)
        if message.get("role") == "user":
            last_user = text
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return Prompt(
        last_user_text=last_user,
        all_text="\n".join(texts),
        has_tools=bool(body.get("tools")),
        max_tokens=limit if isinstance(limit, int) else None,
    )


def split(text: str, pieces: int) -> list[str]:
    """`text` in `pieces` nearly equal parts (fewer if it is shorter; one part if it is empty)."""
    pieces = max(1, min(pieces, len(text)))
    size = len(text)
    return [text[i * size // pieces : (i + 1) * size // pieces] for i in range(pieces)]


def embed(item: Any, dim: int) -> list[float]:
    """A deterministic unit vector of length `dim` from a hash of `item` (text or tokens)."""
    data = item.encode() if isinstance(item, str) else orjson.dumps(item)
    raw = hashlib.shake_256(data).digest(2 * dim)
    values = [v / 32768.0 - 1.0 for v in struct.unpack(f"<{dim}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    # Rounded to float32, so the float and base64 encodings carry the very same numbers.
    return list(struct.unpack(f"<{dim}f", struct.pack(f"<{dim}f", *(v / norm for v in values))))


def embedding_base64(vector: list[float]) -> str:
    """The vector as OpenAI's `encoding_format: base64` sends it: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


@dataclass(frozen=True, slots=True)
class Sse:
    """A streamed reply as server-sent events: what comes before, the content chunks, and after."""

    head: list[bytes]
    deltas: list[bytes]
    tail: list[bytes]
