"""Custom evaluators: Python functions named `module:function` or `path/to/file.py:function`, or
registered by other packages under the `llmdeck.evaluators` entry point group.

The function receives the Case and returns a number in [0, 1], a bool, None (unmeasured), a
(score, explanation) pair or an EvalScore; it may be async.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from llmdeck.evals.evaluators.base import Case, EvalScore, Evaluator, Tools, options_check

ENTRY_POINTS = "llmdeck.evaluators"


def as_score(result: Any, name: str) -> EvalScore:
    """A custom function's return value as an EvalScore (ValueError if it is none of the
    allowed shapes)."""
    if isinstance(result, EvalScore):
        return result
    explanation = ""
    if isinstance(result, tuple) and len(result) == 2:
        result, explanation = result
    if result is None:
        return EvalScore(None, str(explanation or "unmeasured"))
    if isinstance(result, bool):
        return EvalScore(1.0 if result else 0.0, str(explanation))
    if isinstance(result, int | float) and 0 <= result <= 1:
        return EvalScore(float(result), str(explanation))
    raise ValueError(f"evaluator {name!r} returned {result!r}: want a number in [0, 1] or a bool")


@dataclass
class FunctionEvaluator:
    """Wraps a Python function as an evaluator."""

    function: Callable[..., Any]
    name: str

    async def evaluate(self, case: Case) -> EvalScore:
        result = self.function(case)
        if inspect.isawaitable(result):
            result = await result
        return as_score(result, self.name)


def load_function(spec: str, base: Path | None = None) -> Callable[..., Any]:
    """The function named by `module:function` or `file.py:function` (relative to `base`)."""
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute:
        raise ValueError(f"{spec!r} is not module:function or path.py:function")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
        loaded = importlib.util.spec_from_file_location(f"llmdeck_custom_{path.stem}", path)
        if loaded is None or loaded.loader is None:
            raise ValueError(f"cannot import {path}")
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ValueError(f"cannot import {target!r}: {exc}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ValueError(f"{target} has no function {attribute!r}")
    found: Callable[..., Any] = function
    return found


def entry_point_functions() -> dict[str, Callable[..., Any]]:
    """Loaders of the evaluators other packages register (by entry point name)."""
    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINTS)}


def function_factory(spec: str, base: Path | None) -> Callable[[dict[str, Any], Tools], Evaluator]:
    """A factory for the function `spec` names (loaded once)."""
    function = load_function(spec, base)

    def make(options: dict[str, Any], tools: Tools) -> Evaluator:
        options_check(options, set())
        return FunctionEvaluator(function, spec.rpartition(":")[2])

    return make


def entry_point_factory(
    load: Callable[[], Any], name: str
) -> Callable[[dict[str, Any], Tools], Evaluator]:
    """A factory for a registered entry point's function."""

    def make(options: dict[str, Any], tools: Tools) -> Evaluator:
        options_check(options, set())
        return FunctionEvaluator(load(), name)

    return make
