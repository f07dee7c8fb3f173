"""A span's input and output from OTLP attributes and events, in either convention.

OpenInference: `input.value`/`output.value`, `llm.input_messages.N.message.*`,
`llm.output_messages.N.message.*`, `retrieval.documents.N.document.*`,
`embedding.embeddings.N.embedding.text`. OpenTelemetry GenAI: `gen_ai.input.messages`,
`gen_ai.output.messages` and `gen_ai.system_instructions` (JSON), the older
`gen_ai.prompt.N.*`/`gen_ai.completion.N.*`, message events (`gen_ai.user.message`,
`gen_ai.choice`, ...), and tool call arguments and results. Every one of these attributes is
consumed, so message content is stored once.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

Events = list[tuple[str, int, dict[str, Any]]]
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def maybe_json(value: Any) -> Any:
    """A string that holds a JSON object or array, parsed; anything else as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


Families = dict[str, dict[int, dict[str, Any]]]
_CONSUMED = frozenset(
    {
        "llm.input_messages",
        "llm.output_messages",
        "gen_ai.prompt",
        "gen_ai.completion",
        "retrieval.documents",
        "reranker.input_documents",
        "reranker.output_documents",
        "embedding.embeddings",
    }
)

_INDEX = re.compile(r"\.(\d+)\.")
"""The first numeric part of a dotted key that is neither its first nor its last part."""


def indexed_families(attrs: dict[str, Any]) -> Families:
    """Consume every `prefix.N.rest` attribute: {prefix: {N: {rest: value}}}."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for key, match in [(k, _INDEX.search(k)) for k in attrs]:
        if match is not None:
            prefix, rest = key[: match.start()], key[match.end() :]
            found.setdefault(prefix, {}).setdefault(int(match[1]), {})[rest] = attrs.pop(key)
    return found


def family(families: Families, prefix: str) -> list[dict[str, Any]]:
    """The groups of one family, in index order."""
    groups = families.get(prefix, {})
    return [groups[i] for i in sorted(groups)]


def indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Consume `prefix.N.rest` attributes into one {rest: value} dict per N, in order."""
    families = indexed_families({k: v for k, v in attrs.items() if k.startswith(prefix + ".")})
    for key in [k for k in attrs if k.startswith(prefix + ".")]:
        attrs.pop(key)
    return family(families, prefix)


def _openinference_message(flat: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": flat.get("message.role", "user")}
    if "message.content" in flat:
        message["content"] = flat["message.content"]
    texts = [v for k, v in sorted(flat.items()) if k.endswith("message_content.text")]
    if texts and "content" not in message:
        message["content"] = "\n".join(str(t) for t in texts)
    calls = indexed({k.removeprefix("message."): v for k, v in flat.items()}, "tool_calls")
    if calls:
        message["tool_calls"] = [
            {
                "id": c.get("tool_call.id"),
                "function": {
                    "name": c.get("tool_call.function.name"),
                    "arguments": c.get("tool_call.function.arguments"),
                },
            }
            for c in calls
        ]
    for key in ("name", "tool_call_id"):
        if f"message.{key}" in flat:
            message[key] = flat[f"message.{key}"]
    return message


def _genai_message(message: Any) -> Any:
    """A GenAI `{role, parts}` message as `{role, content}` when every part is text."""
    if not isinstance(message, dict) or "parts" not in message:
        return message
    parts = message.get("parts") or []
    if all(isinstance(p, dict) and p.get("type") == "text" for p in parts):
        simple = {k: v for k, v in message.items() if k != "parts"}
        simple["content"] = "".join(str(p.get("content", "")) for p in parts)
        return simple
    return message


def _one_or_many(messages: list[Any]) -> Any:
    return messages[0] if len(messages) == 1 else messages


def _from_events(events: Events) -> tuple[list[Any], list[Any], Events]:
    inputs: list[Any] = []
    outputs: list[Any] = []
    rest: Events = []
    for name, ns, attrs in events:
        if name in _MESSAGE_EVENTS:
            content = maybe_json(attrs.get("content", attrs.get("gen_ai.event.content")))
            inputs.append({"role": attrs.get("role", _MESSAGE_EVENTS[name]), "content": content})
        elif name == "gen_ai.choice":
            message = maybe_json(attrs.get("message", attrs.get("gen_ai.event.content")))
            outputs.append(message if message is not None else attrs)
        elif name == "gen_ai.content.prompt":
            inputs.append(maybe_json(attrs.get("gen_ai.prompt")))
        elif name == "gen_ai.content.completion":
            outputs.append(maybe_json(attrs.get("gen_ai.completion")))
        else:
            rest.append((name, ns, attrs))
    return inputs, outputs, rest


def _value(attrs: dict[str, Any], side: str) -> Any:
    value = attrs.pop(f"{side}.value", None)
    mime = attrs.pop(f"{side}.mime_type", None)
    if isinstance(value, str) and (mime == "application/json" or mime is None):
        return maybe_json(value)
    return value


def _messages(attrs: dict[str, Any], families: Families, events: Events) -> tuple[Any, Any, Events]:
    openinference_in = [_openinference_message(m) for m in family(families, "llm.input_messages")]
    openinference_out = [_openinference_message(m) for m in family(families, "llm.output_messages")]
    genai_in = maybe_json(attrs.pop("gen_ai.input.messages", None))
    genai_out = maybe_json(attrs.pop("gen_ai.output.messages", None))
    system = maybe_json(attrs.pop("gen_ai.system_instructions", None))
    legacy_in = [
        {"role": m.get("role", "user"), "content": m.get("content")}
        for m in family(families, "gen_ai.prompt")
    ]
    legacy_out = [
        {"role": m.get("role", "assistant"), "content": m.get("content")}
        for m in family(families, "gen_ai.completion")
    ]
    event_in, event_out, rest = _from_events(events)
    inputs: Any = openinference_in or None
    if inputs is None and isinstance(genai_in, list):
        inputs = [_genai_message(m) for m in genai_in]
        if system:
            inputs.insert(0, {"role": "system", "content": system})
    inputs = inputs or legacy_in or event_in or None
    outputs: Any = openinference_out or None
    if outputs is None and isinstance(genai_out, list):
        outputs = [_genai_message(m) for m in genai_out]
    outputs = outputs or legacy_out or event_out or None
    return inputs, _one_or_many(outputs) if outputs else None, rest


def _documents(families: Families) -> list[dict[str, Any]] | None:
    docs = family(families, "retrieval.documents") or family(families, "reranker.output_documents")
    if not docs:
        return None
    return [{k.removeprefix("document."): maybe_json(v) for k, v in doc.items()} for doc in docs]


def _is_messages(value: Any) -> bool:
    if isinstance(value, dict):
        return "role" in value
    return isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value)


def input_and_output(kind: str, attrs: dict[str, Any], events: Events) -> tuple[Any, Any, Events]:
    """(input, output, events not consumed) for a span of `kind`; consumes what it reads."""
    explicit_in, explicit_out = _value(attrs, "input"), _value(attrs, "output")
    families = indexed_families(attrs)
    for prefix in set(families) - _CONSUMED:  # someone else's numbered attributes: keep them
        for index, group in families.pop(prefix).items():
            attrs.update({f"{prefix}.{index}.{rest}": value for rest, value in group.items()})
    messages_in, messages_out, rest = _messages(attrs, families, events)
    documents = _documents(families)
    texts = [e.get("embedding.text") for e in family(families, "embedding.embeddings")]
    arguments = maybe_json(attrs.pop("gen_ai.tool.call.arguments", None))
    result = maybe_json(attrs.pop("gen_ai.tool.call.result", None))
    if kind == "llm":
        # A message list (or one message) in input.value/output.value is already the shape
        # wanted; a raw request or response body is not, and the messages are.
        span_input = explicit_in if _is_messages(explicit_in) else messages_in or explicit_in
        span_output = explicit_out if _is_messages(explicit_out) else messages_out or explicit_out
    else:
        span_input = explicit_in if explicit_in is not None else messages_in
        span_output = explicit_out if explicit_out is not None else messages_out
    if span_input is None:
        span_input = arguments if arguments is not None else ([t for t in texts if t] or None)
    if span_output is None:
        span_output = documents if documents is not None else result
    return span_input, span_output, rest
