"""What the fake provider does with the next request: the `Behaviour` knobs, and the plan they make.

A `Behaviour` is frozen; the provider holds one and swaps it whole when `FakeProvider.set()` is
called, so a request sees either the old knobs or the new ones, never a mix. A request may also
carry knobs of its own in the `x-fake-behaviour` header (a JSON object), laid over the current
ones for that request alone, so tests running at the same time can ask for different things.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

BEHAVIOUR_HEADER = "x-fake-behaviour"
FAILURE_NAMES = ("drop", "hang", "cut")
Outcome = Literal["ok", "error", "drop", "hang", "cut", "error_event"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ToolCall(_Frozen):
    """A tool call to answer with, when the request offers tools."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Usage(_Frozen):
    """Token counts to report instead of the estimate; `None` keeps the estimate.

    `input_tokens` is the whole prompt, cached tokens included (OpenAI's `prompt_tokens`);
    the Anthropic shape reports `input_tokens - cached_tokens` as its `input_tokens`.
    """

    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int | None = Field(default=None, ge=0)


def _default_mix() -> dict[str, float]:
    return {"500": 1.0, "429": 1.0, "drop": 1.0, "hang": 1.0}


class Behaviour(_Frozen):
    """The knobs. Defaults answer at once with `"echo: <last user text>"`."""

    latency: float = Field(default=0.0, ge=0)
    """Seconds to wait before answering (before the headers, for streams too)."""
    ttft: float = Field(default=0.0, ge=0)
    """Streams: seconds between the headers and the first content chunk."""
    chunk_interval: float = Field(default=0.0, ge=0)
    """Streams: seconds between content chunks."""
    chunks: int = Field(default=4, ge=1)
    """Streams: how many content chunks the reply is split into (fewer if it is shorter)."""
    status: int | None = Field(default=None, ge=400, le=599)
    """Answer with this HTTP error and the provider's own error body."""
    retry_after: float | None = Field(default=None, ge=0)
    """Seconds to send in `Retry-After` on error responses."""
    hang: bool = False
    """Accept the request and never answer (until the client gives up or the fake stops)."""
    drop: bool = False
    """Close the TCP connection without sending a response."""
    cut_after: int | None = Field(default=None, ge=0)
    """Streams: send this many content chunks, then close the connection. Non-streaming
    responses are cut after the headers and half the body."""
    error_event_after: int | None = Field(default=None, ge=0)
    """Streams: send this many content chunks, then the provider's in-stream error event."""
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    """The share of requests that fail, drawn from a generator seeded with `seed`."""
    fail_mix: dict[str, float] = Field(default_factory=_default_mix)
    """Relative weights of the failure kinds `fail_rate` picks from: an HTTP status
    ("500", "429", "503", ...), "drop", "hang" or "cut". 429s carry `Retry-After`
    (`retry_after`, or 1 second)."""
    seed: int = 0
    """Seed of the failure generator; set through `set()` or `reset()` it restarts the sequence."""
    reply: str | None = None
    """Answer with this text instead of the echo."""
    tool_call: ToolCall | None = None
    """Answer with this tool call when the request offers tools."""
    usage: Usage = Field(default_factory=Usage)
    """Token counts to report instead of the estimate."""
    embedding_dim: int = Field(default=16, ge=1, le=8192)
    """Length of embedding vectors when the request does not ask for `dimensions`."""
    api_key: str | None = None
    """When set, requests must carry it (`Authorization: Bearer`, or `x-api-key` on Anthropic's
    route, which also wants `anthropic-version`), or get the provider's 401 (or 400)."""
    models: tuple[str, ...] = ("fake-chat", "fake-embedding")
    """The ids `GET /v1/models` lists (any model name is accepted by the other routes)."""

    @field_validator("fail_mix")
    @classmethod
    def _known_failures(cls, mix: dict[str, float]) -> dict[str, float]:
        for kind, weight in mix.items():
            if kind not in FAILURE_NAMES and not (kind.isdigit() and 400 <= int(kind) <= 599):
                raise ValueError(
                    f"unknown failure kind {kind!r}: use an HTTP status or "
                    f"one of {', '.join(FAILURE_NAMES)}"
                )
            if weight < 0:
                raise ValueError(f"weight of {kind!r} must not be negative")
        if not sum(mix.values()) > 0:
            raise ValueError("at least one failure kind needs a positive weight")
        return mix

    def merged(self, changes: dict[str, Any]) -> Behaviour:
        """These knobs with `changes` laid over them, validated (raises `ValueError`)."""
        try:
            patch = Behaviour.model_validate(changes)
        except ValidationError as err:
            raise ValueError(_describe(err)) from None
        return self.model_copy(update={name: getattr(patch, name) for name in changes})

    def merged_json(self, raw: str | bytes) -> Behaviour:
        """These knobs with a JSON object of changes laid over them (raises `ValueError`)."""
        try:
            changes = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise ValueError(f"not JSON: {err}") from None
        if not isinstance(changes, dict):
            raise ValueError("must be a JSON object of knobs")
        return self.merged(changes)


def _describe(err: ValidationError) -> str:
    parts = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one request gets: an outcome; an error's status and `Retry-After`; and after how many
    content chunks a stream is cut or broken off by an error event."""

    outcome: Outcome
    status: int = 200
    retry_after: float | None = None
    cut_after: int | None = None

    @property
    def label(self) -> str:
        """The outcome as recorded and counted: "ok", "error:429", "drop", "cut", ..."""
        return f"error:{self.status}" if self.outcome == "error" else self.outcome


OK = Plan("ok")


def plan(behaviour: Behaviour, rng: random.Random | None, stream: bool) -> Plan:
    """Decide what a request gets. Explicit knobs win over `fail_rate`; `rng` draws the failures."""
    if behaviour.hang:
        return Plan("hang")
    if behaviour.drop:
        return Plan("drop")
    if behaviour.status is not None:
        return Plan("error", behaviour.status, behaviour.retry_after)
    if rng is not None and behaviour.fail_rate and rng.random() < behaviour.fail_rate:
        kinds = list(behaviour.fail_mix)
        return _failure(rng.choices(kinds, list(behaviour.fail_mix.values()))[0], behaviour)
    if behaviour.cut_after is not None:
        return Plan("cut", cut_after=behaviour.cut_after)
    if stream and behaviour.error_event_after is not None:
        return Plan("error_event", cut_after=behaviour.error_event_after)
    return OK


def _failure(kind: str, behaviour: Behaviour) -> Plan:
    if kind == "drop":
        return Plan("drop")
    if kind == "hang":
        return Plan("hang")
    if kind == "cut":
        return Plan("cut", cut_after=behaviour.chunks // 2)
    status = int(kind)
    retry_after = behaviour.retry_after
    if status == 429 and retry_after is None:
        retry_after = 1.0
    return Plan("error", status, retry_after)
