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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmdeck.config import Loc, expand_env, format_loc, line_of, parse_yaml, validation_problems
from llmdeck.errors import ConfigError, Problem
from llmdeck.evals.evaluators import EvaluatorSpecError, Tools, build_evaluators
from llmdeck.evals.evaluators.base import Evaluator
from llmdeck.evals.evaluators.registry import split_entry
from llmdeck.evals.targets import TargetSpec


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
        return Problem(format_loc(loc), message, self.source, line_of(loc, self.lines))

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


def parse_suite(text: str, source: str, environ: Mapping[str, str] | None = None) -> Suite:
    """A Suite from YAML text; ConfigError lists every problem with its line."""
    data, lines = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "a suite is a mapping (name, dataset, ...)", source, 1)])
    data = expand_env(data, os.environ if environ is None else environ, source, lines)
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, source, lines)) from None
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
