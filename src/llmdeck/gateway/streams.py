"""Stream plumbing: put back a chunk read ahead, and track a stream for its call."""

from __future__ import annotations

import time

from llmdeck.gateway.call import Call, ChunkStream
from llmdeck.gateway.tokens import estimate_prompt, estimate_text
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Choice,
    FunctionCall,
    Message,
    ToolCall,
    Usage,
)


async def prepend(first: ChatChunk | None, rest: ChunkStream) -> ChunkStream:
    """`first` (read ahead to detect early failure), then the rest of the stream."""
    try:
        if first is not None:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()


class Assembly:
    """Builds the complete response from a stream's chunks, for the trace and the cache."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.text: list[str] = []
        self.calls: dict[int, ToolCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def add(self, chunk: ChatChunk) -> bool:
        """Take in a chunk; True if it carried content (text or a tool call)."""
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        content = False
        for choice in chunk.choices:
            if choice.index:
                continue
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
                content = True
            for call in delta.tool_calls or []:
                self._add_call(call)
                content = True
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return content

    def _add_call(self, call: ToolCall) -> None:
        index = call.index or 0
        known = self.calls.get(index)
        if known is None:
            self.calls[index] = ToolCall(
                id=call.id,
                function=FunctionCall(
                    name=call.function.name, arguments=call.function.arguments or ""
                ),
            )
            return
        known.function.arguments = (known.function.arguments or "") + (
            call.function.arguments or ""
        )
        if call.id and not known.id:
            known.id = call.id

    def response(self) -> ChatResponse:
        """The equivalent complete response."""
        calls = [self.calls[i] for i in sorted(self.calls)] or None
        message = Message(role="assistant", content="".join(self.text) or None, tool_calls=calls)
        return ChatResponse(
            id=self.id,
            model=self.model,
            choices=[Choice(message=message, finish_reason=self.finish_reason)],
            usage=self.usage,
        )


async def tracked(call: Call, stream: ChunkStream) -> ChunkStream:
    """Pass chunks through, recording time to first token and usage; end the call after."""
    assembly = Assembly()
    error: BaseException | None = None
    try:
        async for chunk in stream:
            if assembly.add(chunk) and call.ttft is None:
                call.ttft = time.perf_counter() - call.started
            yield chunk
    except BaseException as exc:
        error = exc
        raise
    finally:
        await stream.aclose()
        call.response = assembly.response()
        call.usage = assembly.usage or estimated_usage(call.chat, call.response)
        call.end(error)


def estimated_usage(request: ChatRequest, response: ChatResponse) -> Usage:
    """Usage estimated from the text, for upstreams that report none."""
    text = response.choices[0].message.text() if response.choices else ""
    return Usage.of(estimate_prompt(request), estimate_text(text))
