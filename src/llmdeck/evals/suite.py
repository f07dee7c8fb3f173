"""Suite files for `llmdeck eval run`: what to run, over what, scored how, passing when.

```yaml
name: support-regression
dataset: data/support.jsonl      # a JSONL/CSV path (relative to this file) or a dataset name
target: {prompt: support-answer, label: staging}   # or {model: chat} | {rag: docs} | {http: URL}
evaluators: [contains, {semantic_similarity: {min: 0.8}}, faithfulness]
thresholds: {contains: 0.9}      # a mean below a threshold fails the run (exit 1)
concurrency: 8                   # optional
```

`${VAR}` (or `${VAR:-default}`) takes a value from the environment. Errors name the file, the
field and its line, as `llmdeck config check` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmdeck.config import format_loc
from llmdeck.errors import ConfigError, Problem
from llmdeck.evals.evaluators import EvaluatorSpecError, Tools, build_evaluators
from llmdeck.evals.evaluators.base import Evaluator
from llmdeck.evals.evaluators.registry import split_entry
from llmdeck.evals.targets import TargetSpec

Loc = tuple[str | int, ...]


class SuiteSpec(BaseModel):
    """A suite file's fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    dataset: str = Field(min_length=1)
    target: TargetSpec
    evaluators: list[Any] = Field(min_length=1)
    thresholds: dict[str, float] = Field(default_factory=dict)
    concurrency: int | None = Field(default=None, gt=0, le=1000)
    description: str | None = None


@dataclass
class Suite:
    """A loaded suite, with where each field was written (for errors found later)."""

    spec: SuiteSpec
    source: str
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        """The folder relative paths in the suite start from."""
        return Path(self.source).parent if self.source else Path.cwd()

    def dataset_path(self) -> Path | None:
        """The dataset file, if the suite names a file rather than a registered dataset."""
        value = self.spec.dataset
        path = Path(value) if Path(value).is_absolute() else self.base / value
        if path.suffix.lower() in (".jsonl", ".csv", ".json") or path.exists():
            return path
        return None

    def problem(self, loc: Loc, message: str) -> Problem:
        """A Problem pointing at `loc` in this file."""
        return Problem(format_loc(loc), message, self.source, _line(loc, self.lines))

    def evaluators(self, tools: Tools) -> list[Evaluator]:
        """Build the evaluators; ConfigError names the entry and its line."""
        try:
            built = build_evaluators(self.spec.evaluators, tools, self.base)
        except EvaluatorSpecError as exc:
            raise ConfigError([self.problem(("evaluators", exc.index), str(exc))]) from None
        names = {e.name for e in built}
        problems = [
            self.problem(("thresholds", key), f"no evaluator is named {key!r}")
            for key in self.spec.thresholds
            if key not in names
        ]
        if problems:
            raise ConfigError(problems)
        return built


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _index(node: yaml.Node | None, loc: Loc, out: dict[Loc, int]) -> None:
    if node is None:
        return
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*loc, key.value)] = key.start_mark.line + 1
            _index(value, (*loc, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for position, child in enumerate(node.value):
            _index(child, (*loc, position), out)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any, loc: Loc, environ: Mapping[str, str], missing: list[Loc]) -> Any:
    """`${VAR}` and `${VAR:-default}` in strings, from the environment (secrets such as an
    endpoint's key stay out of the file)."""
    if isinstance(value, dict):
        return {k: _expand(v, (*loc, k), environ, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*loc, i), environ, missing) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is None:
            missing.append((*loc, name))
        return default or ""

    return _VAR.sub(substitute, value)


def parse_suite(text: str, source: str, environ: Mapping[str, str] | None = None) -> Suite:
    """A Suite from YAML text; ConfigError lists every problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"invalid YAML: {getattr(exc, 'problem', None) or exc}"
        raise ConfigError([Problem("", message, source, line)]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "a suite is a mapping (name, dataset, ...)", source, 1)])
    lines: dict[Loc, int] = {}
    _index(node, (), lines)
    missing: list[Loc] = []
    data = _expand(data, (), os.environ if environ is None else environ, missing)
    if missing:
        raise ConfigError([
            Problem(format_loc(loc[:-1]), f"environment variable {loc[-1]} is not set",
                    source, _line(loc[:-1], lines))
            for loc in missing
        ])  # fmt: skip
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            message = {"missing": "required", "extra_forbidden": "unknown key"}.get(
                error["type"], error["msg"].removeprefix("Value error, ")
            )
            problems.append(Problem(format_loc(loc), message, source, _line(loc, lines)))
        raise ConfigError(problems) from None
    suite = Suite(spec, source, lines)
    problems = []
    for index, entry in enumerate(spec.evaluators):
        try:
            split_entry(entry)
        except ValueError as exc:
            problems.append(suite.problem(("evaluators", index), str(exc)))
    if problems:
        raise ConfigError(problems)
    return suite


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read: {exc.strerror}", str(file))]) from None
    return parse_suite(text, str(file))
