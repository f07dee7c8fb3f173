"""What makes two requests the same: the exact key, and the semantic namespace and question.

The exact key covers everything that can change the answer: the model alias and the models
behind it, who may share it (the scope), the prompt version, every message, and the parameters
that shape the output. It leaves out what cannot: `user` (unless the scope is per user),
`metadata`, `tags`, `stream` and its options. Semantic entries share a namespace when
everything but the last user message is identical; only that question is compared by meaning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from llmdeck.config import AliasCache, ModelAlias
from llmdeck.gateway.call import Call, Principal
from llmdeck.gateway.wire.openai import ChatRequest, Message

VERSION = 1  # bump when the key's recipe changes, so old entries stop matching

# Request fields that do not change the answer, or that are folded in below in a normal form.
_NOT_PARAMETERS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "user",
        "metadata",
        "tags",
        "prompt",
        "store",
        "service_tier",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
    }
)
_TOOL_ROLES = frozenset({"tool", "function"})


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """How a request is looked up. `namespace` is None when the semantic cache must not answer
    it; `skip` then says why (`tools`, `not-text`, `no-question`, `unrendered-prompt`)."""

    key: str
    namespace: str | None = None
    question: str | None = None
    skip: str | None = None


def fingerprint(call: Call, policy: AliasCache) -> Fingerprint:
    """The exact key of a chat call, and its semantic namespace and question where allowed."""
    request = call.chat
    scope = scope_of(call.principal, request, policy)
    messages = [_message(m) for m in request.messages]
    common = [VERSION, call.alias.name, _models(call.alias), scope, _parameters(request)]
    prompt = request.prompt.model_dump(exclude_none=True) if request.prompt else None
    version = [call.prompt_name, call.prompt_version]
    key = digest(["exact", *common, version, prompt, messages])
    if not policy.semantic:
        return Fingerprint(key)
    skip = _semantic_skip(call)
    if skip is not None:
        return Fingerprint(key, skip=skip)
    question = request.messages[-1].text().strip()
    if prompt is not None:
        prompt.pop("variables", None)  # they are rendered into the messages
    namespace = digest(["semantic", *common, policy.embedding, version, prompt, messages[:-1]])
    return Fingerprint(key, namespace, question)


def scope_of(principal: Principal, request: ChatRequest, policy: AliasCache) -> str:
    """Who may share answers with this caller, as a string that goes into every key."""
    own = f"key:{principal.key_id or principal.name}"
    if policy.scope == "global":
        return "global"
    if policy.scope == "team":
        return f"team:{principal.team}" if principal.team else own
    if policy.scope == "user":
        return f"{own}|user:{request.user or ''}"
    return own


def digest(value: Any) -> str:
    """A 128-bit hex digest of a JSON-able value (keys sorted, so dict order does not matter)."""
    raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _semantic_skip(call: Call) -> str | None:
    request = call.chat
    legacy_functions = (request.model_extra or {}).get("functions")
    if request.tools or legacy_functions:
        return "tools"
    if any(m.role in _TOOL_ROLES or m.tool_calls for m in request.messages):
        return "tools"
    if request.prompt is not None and call.prompt_version is None:
        return "unrendered-prompt"
    if not request.messages or request.messages[-1].role != "user":
        return "no-question"
    last = request.messages[-1]
    if isinstance(last.content, list) and any(p.get("type") != "text" for p in last.content):
        return "not-text"
    if not last.text().strip():
        return "no-question"
    return None


def _message(message: Message) -> dict[str, Any]:
    data = message.model_dump(exclude_none=True)
    if isinstance(message.content, str):
        data["content"] = message.content.strip()
    return data


def _parameters(request: ChatRequest) -> dict[str, Any]:
    data = request.model_dump(exclude_none=True, exclude=set(_NOT_PARAMETERS))  # extras too
    data["max_tokens"] = request.output_limit()
    data["stop"] = sorted(set(request.stop_list())) or None
    data["n"] = request.n if request.n and request.n > 1 else None
    return {k: v for k, v in data.items() if v is not None}


def _models(alias: ModelAlias) -> list[Any]:
    """What answers for the alias: a change of model is a change of cache."""
    if alias.tiers:
        return sorted(alias.tiers.items())
    return [[d.provider, d.model] for d in alias.deployments]
