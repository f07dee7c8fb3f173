"""The registry's shapes: a prompt, its immutable versions, labels and their history.

These are the objects the API sends and the SDK and CLI receive (pydantic, JSON both ways).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from llmdeck.prompts.render import TemplateProblem, compile_template, render_template, variables_of
from llmdeck.prompts.variables import Variable, check_values, parse_variable

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VERSIONISH = re.compile(r"^v?\d+$")
LATEST = "latest"


def check_name(name: str) -> str:
    """A prompt name: letters, digits, `.`, `_`, `-`; at most 128 characters."""
    if not NAME.match(name):
        raise ValueError(f"invalid prompt name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def check_label(label: str) -> str:
    """A label name; `v3` or `3` would read as a version, so they are refused."""
    if not LABEL.match(label) or VERSIONISH.match(label):
        raise ValueError(
            f"invalid label {label!r}: use letters, digits, '.', '_' and '-', not a version number"
        )
    return label


class Message(BaseModel):
    """A chat message whose `content` (text, or the text of content parts) is a template."""

    model_config = ConfigDict(extra="allow", frozen=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]]

    @field_validator("content")
    @classmethod
    def _compiles(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        for text in _texts(value):
            try:
                compile_template(text)
            except TemplateProblem as exc:
                raise ValueError(str(exc)) from None
        return value

    def templates(self) -> list[str]:
        """The template texts of this message (its content, or its text parts)."""
        return _texts(self.content)


class Params(BaseModel):
    """Model parameters a version carries; a request's own parameters win over these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None


class PromptContent(BaseModel):
    """What a version holds: the part that the content hash covers."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1)
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, Variable] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        if value is None:
            return {}
        return Params.model_validate(value).model_dump(exclude_none=True)

    @field_validator("variables", mode="before")
    @classmethod
    def _variables(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of name to type")
        declared = {str(k): parse_variable(str(k), v) for k, v in value.items()}
        used: set[str] = set()
        for message in info.data.get("messages") or []:
            used.update(*(variables_of(t) for t in message.templates()))
        if not declared:  # none declared: every name the templates use, any type
            return {name: Variable() for name in sorted(used)}
        undeclared = sorted(used - set(declared))
        if undeclared:
            raise ValueError(f"the messages use {', '.join(undeclared)}, which are not declared")
        return declared

    def compute_hash(self) -> str:
        """sha256 of the canonical JSON of the content: same content, same hash."""
        data = self.model_dump(mode="json", include={"messages", "model", "params", "variables"})
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _texts(content: str | list[dict[str, Any]]) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [str(p["text"]) for p in content if p.get("type") == "text" and "text" in p]


class PromptSpec(PromptContent):
    """A version to create: the content, plus who and why, and labels to point at it."""

    name: str
    commit_message: str = ""
    author: str | None = None
    labels: list[str] = Field(default_factory=list)

    _name = field_validator("name")(lambda cls, v: check_name(v))

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return [check_label(v) for v in value]


class RenderedPrompt(BaseModel):
    """A version rendered with variables: ready-to-send messages and parameters."""

    name: str
    version: int
    label: str | None = None
    messages: list[dict[str, Any]]
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class PromptVersion(PromptContent):
    """One immutable version of a prompt."""

    name: str
    version: int
    commit_message: str = ""
    author: str | None = None
    content_hash: str = ""
    created_at: float = 0.0

    def render(
        self,
        variables: dict[str, Any] | None = None,
        *,
        label: str | None = None,
        max_chars: int = 1_000_000,
        timeout: float = 1.0,
    ) -> RenderedPrompt:
        """Fill the templates in the sandbox. Raises BadRequest naming a missing or wrongly typed
        variable, or what the template did wrong."""
        values = check_values(self.variables, variables or {})
        messages = []
        for message in self.messages:
            texts = [
                t  # plain text: nothing for Jinja to do
                if "{" not in t
                else render_template(
                    compile_template(t), values, max_chars=max_chars, timeout=timeout
                )
                for t in message.templates()
            ]
            messages.append(_with_texts(message, texts))
        return RenderedPrompt(
            name=self.name,
            version=self.version,
            label=label,
            messages=messages,
            model=self.model,
            params=dict(self.params),
        )


def _with_texts(message: Message, texts: list[str]) -> dict[str, Any]:
    data = message.model_dump(exclude_none=True)
    if isinstance(message.content, str):
        data["content"] = texts[0]
        return data
    filled = iter(texts)
    data["content"] = [
        {**p, "text": next(filled)} if p.get("type") == "text" and "text" in p else p
        for p in message.content
    ]
    return data


class Target(BaseModel):
    """A version a label sends a share of its traffic to."""

    version: int
    weight: float = Field(default=1.0, gt=0)


class CanaryPlan(BaseModel):
    """An automatic canary: widen `version`'s share step by step while it holds up."""

    model_config = ConfigDict(extra="forbid")

    version: int
    steps: list[float] = Field(default_factory=lambda: [0.05, 0.25, 0.5, 1.0], min_length=1)
    step_seconds: float = Field(default=300.0, ge=0)
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_increase: float = Field(default=0.05, ge=0, le=1)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[float]) -> list[float]:
        if any(not 0 < s <= 1 for s in value) or value != sorted(value):
            raise ValueError("steps must be increasing shares in (0, 1], e.g. [0.05, 0.25, 1]")
        return value if value[-1] == 1 else [*value, 1.0]


class CanaryState(BaseModel):
    """Where an automatic canary is: the plan, the stable targets, the current step."""

    plan: CanaryPlan
    stable: list[Target]
    step: int = 0
    step_started: float = 0.0


class LabelState(BaseModel):
    """Where a label points: one version, or a weighted split (canary / A-B)."""

    name: str
    label: str
    version: int
    targets: list[Target]
    canary: CanaryState | None = None
    revision: int = 0
    updated_at: float = 0.0
    updated_by: str | None = None


class LabelEvent(BaseModel):
    """One move of a label: who, when, from what to what, and why."""

    id: int
    name: str
    label: str
    action: str
    from_targets: list[Target] | None
    to_targets: list[Target] | None
    actor: str | None
    reason: str | None
    at: float


class Prompt(BaseModel):
    """A prompt: its name, newest version and labels."""

    name: str
    latest_version: int
    created_at: float
    updated_at: float
    labels: list[LabelState] = Field(default_factory=list)


def targets_text(targets: list[Target] | None) -> str:
    """'v3' or 'v3 90% + v4 10%' for messages and tables."""
    if not targets:
        return "-"
    if len(targets) == 1:
        return f"v{targets[0].version}"
    total = sum(t.weight for t in targets)
    return " + ".join(f"v{t.version} {100 * t.weight / total:g}%" for t in targets)
