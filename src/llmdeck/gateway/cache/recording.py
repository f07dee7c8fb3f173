"""Recording a streamed answer on its way to the client, to cache it once it is complete."""

from __future__ import annotations

from llmdeck.gateway.call import ChunkStream
from llmdeck.gateway.streams import Assembly
from llmdeck.gateway.wire.openai import ChatResponse


class Recording:
    """Passes chunks through and assembles them; `complete` once the stream has ended with a
    finish reason (not cut, failed or abandoned)."""

    def __init__(self) -> None:
        self.assembly = Assembly()
        self.complete = False

    async def wrap(self, stream: ChunkStream) -> ChunkStream:
        """The same stream, recorded."""
        try:
            async for chunk in stream:
                self.assembly.add(chunk)
                yield chunk
            self.complete = self.assembly.finish_reason is not None
        finally:
            await stream.aclose()

    def response(self) -> ChatResponse:
        """The complete response the chunks make."""
        return self.assembly.response()
