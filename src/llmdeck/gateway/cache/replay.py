"""A cached answer to a streaming request, replayed as the chunks a provider would send."""

from __future__ import annotations

import re

from llmdeck.gateway.call import ChunkStream
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatResponse,
    ChunkChoice,
    Delta,
    FunctionCall,
    ToolCall,
)

_WORDS = re.compile(r"\S+\s*|\s+")
PIECE_CHARS = 24  # about a few words a chunk, like a provider's token stream


def pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """`text` cut at word boundaries into pieces of about `size` characters."""
    out: list[str] = []
    current = ""
    for word in _WORDS.findall(text):
        current += word
        if len(current) >= size:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


async def replay(response: ChatResponse) -> ChunkStream:
    """Per choice: the role, the text in pieces, the tool calls, the finish reason; then the
    usage chunk (sent on only when the client asked for usage)."""
    ident, model, created = response.id, response.model, response.created

    def chunk(index: int, delta: Delta, finish: str | None = None) -> ChatChunk:
        choice = ChunkChoice(index=index, delta=delta, finish_reason=finish)
        return ChatChunk(id=ident, model=model, created=created, choices=[choice])

    for choice in response.choices:
        message = choice.message
        yield chunk(choice.index, Delta(role="assistant", content=""))
        for piece in pieces(message.text()):
            yield chunk(choice.index, Delta(content=piece))
        for position, call in enumerate(message.tool_calls or []):
            function = FunctionCall(name=call.function.name, arguments=call.function.arguments)
            delta = Delta(tool_calls=[ToolCall(index=position, id=call.id, function=function)])
            yield chunk(choice.index, delta)
        yield chunk(choice.index, Delta(), choice.finish_reason or "stop")
    if response.usage is not None:
        yield ChatChunk(id=ident, model=model, created=created, choices=[], usage=response.usage)
