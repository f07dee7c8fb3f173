"""Prompts as files: one prompt per file, `NAME.yaml` (or `.yml`), or `NAME.md` with the same
fields as YAML front matter and the body as the last (user) message.

Reading reports a bad file by name and line and goes on with the others; writing produces files
that read back to the same content, so `pull` then `push` changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from llmdeck.config import format_loc
from llmdeck.prompts.model import LATEST, PromptSpec, PromptVersion
from llmdeck.prompts.variables import Variable

SUFFIXES = (".yaml", ".yml", ".md")
_FENCE = "---"
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FileProblem:
    """Why a file was skipped: where (file, line) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class PromptFileError(ValueError):
    """A prompt file that cannot be used."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_folder(folder: Path) -> tuple[list[tuple[Path, PromptSpec]], list[FileProblem]]:
    """Every prompt file in `folder` (not recursive), and the problems of those that failed."""
    specs: list[tuple[Path, PromptSpec]] = []
    problems: list[FileProblem] = []
    seen: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        try:
            spec = read_file(path)
        except PromptFileError as exc:
            problems.append(exc.problem)
            continue
        if spec.name in seen:
            problems.append(
                FileProblem(str(path), f"prompt {spec.name!r} is also in {seen[spec.name]}")
            )
            continue
        seen[spec.name] = path
        specs.append((path, spec))
    return specs, problems


def read_file(path: Path) -> PromptSpec:
    """One prompt file; PromptFileError names the file and line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptFileError(FileProblem(str(path), f"cannot read: {exc}")) from None
    offset, body, body_line = 0, None, None
    if path.suffix == ".md":
        text, body, offset, body_line = _split_front_matter(path, text)
    data, lines = _load_yaml(path, text, offset)
    data.setdefault("name", path.stem)
    if body is not None and body.strip():
        data["messages"] = [*(data.get("messages") or []), {"role": "user", "content": body}]
        lines[("messages", len(data["messages"]) - 1)] = body_line or 1
    if data["name"] != path.stem:
        message = f"name {data['name']!r} does not match the file name {path.name!r}"
        raise PromptFileError(FileProblem(str(path), message, lines.get(("name",))))
    try:
        return PromptSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
        where = format_loc(loc)
        text_ = {"missing": "is required", "extra_forbidden": "is not a known field"}.get(
            error["type"], error["msg"].removeprefix("Value error, ")
        )
        message = f"{where}: {text_}" if where else text_
        raise PromptFileError(FileProblem(str(path), message, _line(loc, lines))) from None


def _split_front_matter(path: Path, text: str) -> tuple[str, str, int, int]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FENCE:
        return "", text, 0, 1
    for index in range(1, len(lines)):
        if lines[index].strip() == _FENCE:
            body = "".join(lines[index + 1 :]).strip("\n") + "\n"
            return "".join(lines[1:index]), body, 1, index + 2
    raise PromptFileError(FileProblem(str(path), "front matter is not closed by '---'", 1))


def _load_yaml(path: Path, text: str, offset: int) -> tuple[dict[str, Any], dict[Loc, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + offset if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PromptFileError(FileProblem(str(path), f"invalid YAML: {problem}", line)) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise PromptFileError(FileProblem(str(path), "the file must hold a mapping", 1 + offset))
    lines: dict[Loc, int] = {}
    _index(node, (), lines, offset)
    return data, lines


def _index(node: yaml.Node | None, loc: Loc, out: dict[Loc, int], offset: int) -> None:
    if node is None:
        return
    out.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*loc, key.value)] = key.start_mark.line + 1 + offset
            _index(value, (*loc, key.value), out, offset)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*loc, position), out, offset)


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# writing


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as `|` literals."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _variable(variable: Variable) -> Any:
    if variable.default is None and variable.description is None:
        return variable.type + ("?" if variable.optional else "")
    return variable.model_dump(exclude_defaults=True) or {"type": "any"}


def dump_version(version: PromptVersion, labels: list[str], *, markdown: bool = False) -> str:
    """The file text for a version, with the labels that point at it."""
    messages = [m.model_dump(exclude_none=True) for m in version.messages]
    body = None
    last = messages[-1] if messages else None
    if markdown and last and last["role"] == "user" and isinstance(last["content"], str):
        body = messages.pop()["content"]
    data: dict[str, Any] = {"name": version.name}
    if messages:
        data["messages"] = messages
    if version.model:
        data["model"] = version.model
    if version.params:
        data["params"] = version.params
    if version.variables:
        data["variables"] = {k: _variable(v) for k, v in version.variables.items()}
    shown = sorted(label for label in labels if label != LATEST)
    if shown:
        data["labels"] = shown
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if body is None:
        return text
    return f"{_FENCE}\n{text}{_FENCE}\n{body}"
