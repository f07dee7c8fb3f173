"""Comparing two versions: a unified text diff of each message, and what changed in the model,
parameters and variables."""

from __future__ import annotations

import difflib
from itertools import zip_longest
from typing import Any

import orjson
from pydantic import BaseModel

from llmdeck.prompts.model import Message, PromptVersion


class MessageDiff(BaseModel):
    """One message position in both versions; `diff` is empty when it did not change."""

    index: int
    role_a: str | None
    role_b: str | None
    diff: str


class Change(BaseModel):
    """A value in version A and in version B (None: absent)."""

    a: Any = None
    b: Any = None


class VersionDiff(BaseModel):
    """What differs between versions `a` and `b` of a prompt."""

    name: str
    a: int
    b: int
    messages: list[MessageDiff]
    model: Change | None = None
    params: dict[str, Change]
    variables: dict[str, Change]

    @property
    def same(self) -> bool:
        """Whether nothing differs."""
        return not (
            any(m.diff for m in self.messages) or self.model or self.params or self.variables
        )

    def text(self) -> str:
        """The diff as a person reads it (what `llmdeck prompts diff` prints)."""
        lines = [f"{self.name}: v{self.a} -> v{self.b}"]
        if self.same:
            return lines[0] + ": no differences"
        lines += [m.diff.rstrip("\n") for m in self.messages if m.diff]
        if self.model:
            lines.append(f"model: {self.model.a} -> {self.model.b}")
        for kind, changes in (("params", self.params), ("variables", self.variables)):
            for key, change in changes.items():
                lines.append(f"{kind}.{key}: {_show(change.a)} -> {_show(change.b)}")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return "(none)" if value is None else orjson.dumps(value).decode()


def diff_versions(a: PromptVersion, b: PromptVersion) -> VersionDiff:
    """The differences from `a` to `b`."""
    messages = []
    pairs = zip_longest(a.messages, b.messages)
    for index, (left, right) in enumerate(pairs):
        messages.append(
            MessageDiff(
                index=index,
                role_a=left.role if left else None,
                role_b=right.role if right else None,
                diff=_message_diff(index, a.version, b.version, left, right),
            )
        )
    variables_a = {k: v.model_dump(exclude_defaults=True) for k, v in a.variables.items()}
    variables_b = {k: v.model_dump(exclude_defaults=True) for k, v in b.variables.items()}
    return VersionDiff(
        name=b.name,
        a=a.version,
        b=b.version,
        messages=messages,
        model=Change(a=a.model, b=b.model) if a.model != b.model else None,
        params=_changes(a.params, b.params),
        variables=_changes(variables_a, variables_b),
    )


def _message_diff(index: int, va: int, vb: int, left: Message | None, right: Message | None) -> str:
    text_a = _text(left)
    text_b = _text(right)
    if text_a == text_b:
        return ""
    role_a = left.role if left else "absent"
    role_b = right.role if right else "absent"
    lines = difflib.unified_diff(
        text_a.splitlines(keepends=True),
        text_b.splitlines(keepends=True),
        fromfile=f"v{va} messages[{index}] ({role_a})",
        tofile=f"v{vb} messages[{index}] ({role_b})",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _text(message: Message | None) -> str:
    if message is None:
        return ""
    data = message.model_dump(exclude_none=True)
    content = data.pop("content")
    head = f"[{data.pop('role')}]" + (f" {orjson.dumps(data).decode()}" if data else "")
    body = content if isinstance(content, str) else orjson.dumps(content).decode()
    return f"{head}\n{body}\n"


def _changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Change]:
    return {
        key: Change(a=a.get(key), b=b.get(key))
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    }
