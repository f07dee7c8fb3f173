"""LlamaIndex objects as llmdeck span data: kinds by component, inputs, outputs, usage."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.base.response.schema import Response
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.tools.types import BaseTool

from llmdeck.observe import SpanKind

_KINDS: tuple[tuple[type[Any], SpanKind], ...] = (
    (BaseLLM, "llm"),
    (BaseEmbedding, "embedding"),
    (BaseRetriever, "retrieval"),
    (BaseNodePostprocessor, "rerank"),
    (BaseTool, "tool"),
    (BaseQueryEngine, "chain"),
)


def kind_of(instance: Any) -> SpanKind:
    """The span kind for a component (agents by name, everything else a chain)."""
    for cls, kind in _KINDS:
        if isinstance(instance, cls):
            return kind
    if instance is not None and "agent" in type(instance).__name__.lower():
        return "agent"
    return "chain"


def message(value: ChatMessage) -> dict[str, Any]:
    """A chat message in the OpenAI shape."""
    out: dict[str, Any] = {"role": str(value.role.value), "content": value.content}
    calls = value.additional_kwargs.get("tool_calls")
    if calls:
        out["tool_calls"] = plain(calls)
    return out


def node(value: NodeWithScore) -> dict[str, Any]:
    """A retrieved node as a retrieval span's output entry."""
    out: dict[str, Any] = {"id": value.node.node_id, "content": value.node.get_content()}
    if value.score is not None:
        out["score"] = value.score
    if value.node.metadata:
        out["metadata"] = plain(value.node.metadata)
    return out


def plain(value: Any, depth: int = 0) -> Any:
    """Inputs and outputs as JSON-able data."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if depth > 6:
        return str(value)
    if isinstance(value, ChatMessage):
        return message(value)
    if isinstance(value, NodeWithScore):
        return node(value)
    if isinstance(value, QueryBundle):
        return value.query_str
    if isinstance(value, ChatResponse):
        return message(value.message)
    if isinstance(value, CompletionResponse):
        return value.text
    if isinstance(value, Response):
        return value.response
    if is_stream(value) or hasattr(value, "response_gen"):
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [plain(v, depth + 1) for v in value]
    # Anything else is named, not printed: str() of a LlamaIndex object can have effects
    # (a StreamingResponse's drains its stream).
    return f"<{type(value).__name__}>"


def inputs(arguments: Mapping[str, Any]) -> Any:
    """A span's input from the call's bound arguments (one argument: itself)."""
    given = {k: v for k, v in arguments.items() if k not in ("self", "kwargs") and v is not None}
    given.update(arguments.get("kwargs") or {})
    if len(given) == 1:
        return plain(next(iter(given.values())))
    return plain(given)


def usage(response: Any) -> dict[str, int]:
    """Token counts of a chat or completion response (OpenAI's and Anthropic's raw shapes)."""
    raw = getattr(response, "raw", None)
    found = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
    if found is None:
        extra = getattr(response, "additional_kwargs", None) or {}
        found = {k: extra[k] for k in ("prompt_tokens", "completion_tokens") if k in extra}
    if not isinstance(found, Mapping):
        found = getattr(found, "model_dump", lambda: {})()
    counts = {
        "input_tokens": found.get("prompt_tokens", found.get("input_tokens")),
        "output_tokens": found.get("completion_tokens", found.get("output_tokens")),
    }
    return {k: int(v) for k, v in counts.items() if v is not None}


def is_stream(value: Any) -> bool:
    """Whether a call returned a stream that is consumed after the call's span."""
    return inspect.isgenerator(value) or inspect.isasyncgen(value)
