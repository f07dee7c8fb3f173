"""The model gateway: one API in front of every provider, as a fixed line of stages.

Other capabilities use only what is exported here.
"""

from llmdeck.gateway.call import Call, ChunkStream, Principal, Reply
from llmdeck.gateway.gateway import Gateway, config_problems
from llmdeck.gateway.pipeline import Next, Stage, compose
from llmdeck.gateway.providers import Provider, ProviderContext, ProviderError
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Message,
    Usage,
)

__all__ = [
    "Call",
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "ChunkStream",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "Gateway",
    "Message",
    "Next",
    "Principal",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "Reply",
    "Stage",
    "Usage",
    "compose",
    "config_problems",
]
