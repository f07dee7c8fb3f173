"""LangChain objects as the plain JSON that llmdeck spans hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.prompt_values import PromptValue

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_CHANNELS = ("metadata", "tags", "user", "prompt")


def message(value: BaseMessage) -> dict[str, Any]:
    """A message in the OpenAI chat shape: role, content, tool calls."""
    out: dict[str, Any] = {"role": _ROLES.get(value.type, value.type), "content": value.content}
    calls = getattr(value, "tool_calls", None)
    if calls:
        out["tool_calls"] = [
            {"id": c.get("id"), "name": c["name"], "arguments": c.get("args")} for c in calls
        ]
    if isinstance(value, ToolMessage):
        out["tool_call_id"] = value.tool_call_id
    return out


def document(value: Document, score: float | None = None) -> dict[str, Any]:
    """A retrieved document as a retrieval span's output entry."""
    meta = dict(value.metadata)
    found = meta.pop("score", score)
    out: dict[str, Any] = {"id": value.id or meta.get("id"), "content": value.page_content}
    if found is not None:
        out["score"] = found
    if meta:
        out["metadata"] = meta
    return out


def plain(value: Any, depth: int = 0) -> Any:
    """Inputs and outputs of runs as JSON-able data (messages, documents, prompt values...)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if depth > 6:
        return str(value)
    if isinstance(value, BaseMessage):
        return message(value)
    if isinstance(value, Document):
        return document(value)
    if isinstance(value, PromptValue):
        return [message(m) for m in value.to_messages()]
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [plain(v, depth + 1) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return plain(dump(), depth + 1)
    return str(value)


def reply(result: LLMResult) -> tuple[Any, dict[str, int], str | None]:
    """(output, usage counts, response model) of a finished LLM run."""
    generations = result.generations[0] if result.generations else []
    first = generations[0] if generations else None
    output: Any = None
    usage: dict[str, int] = {}
    if isinstance(first, ChatGeneration):
        output = message(first.message)
        usage = _usage_metadata(getattr(first.message, "usage_metadata", None))
    elif first is not None:
        output = first.text
    llm_output = result.llm_output or {}
    if not usage:
        usage = _token_usage(llm_output.get("token_usage") or llm_output.get("usage"))
    model = llm_output.get("model_name") or llm_output.get("model")
    if model is None and isinstance(first, ChatGeneration):
        model = first.message.response_metadata.get("model_name")
    return output, usage, str(model) if model else None


def _usage_metadata(usage: Any) -> dict[str, int]:
    if not usage:
        return {}
    found = {"input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens")}
    cached = (usage.get("input_token_details") or {}).get("cache_read")
    if cached:
        found["cached_tokens"] = cached
    return {k: int(v) for k, v in found.items() if v is not None}


def _token_usage(usage: Any) -> dict[str, int]:
    if not isinstance(usage, Mapping):
        return {}
    found = {
        "input_tokens": usage.get("prompt_tokens", usage.get("input_tokens")),
        "output_tokens": usage.get("completion_tokens", usage.get("output_tokens")),
    }
    return {k: int(v) for k, v in found.items() if v is not None}


def parameters(invocation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The sampling parameters of an LLM run (what the gateway's span records too)."""
    if not invocation:
        return None
    keys = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "n")
    found = {k: invocation[k] for k in keys if invocation.get(k) is not None}
    return found or None


def extensions(invocation: Mapping[str, Any] | None) -> dict[str, Any]:
    """llmdeck's request extensions the run sends (in `extra_body` or `model_kwargs`)."""
    if not invocation:
        return {}
    extra = invocation.get("extra_body") or {}
    merged = {**{k: invocation[k] for k in _CHANNELS if k in invocation}, **extra}
    return {k: merged[k] for k in _CHANNELS if merged.get(k) is not None}
