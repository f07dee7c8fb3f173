"""Evaluator names and how to build them from a suite's `evaluators:` list.

An entry is a name (`contains`), a name with options (`{semantic_similarity: {min: 0.8}}`), a
function (`checks.py:polite`, `mypkg.evals:polite`), or a name registered by another package
under the `llmdeck.evaluators` entry point group. An `name:` option renames the score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmdeck.evals.evaluators import basic, judge, rag, semantic
from llmdeck.evals.evaluators.base import Evaluator, Factory, Tools
from llmdeck.evals.evaluators.custom import (
    entry_point_factory,
    entry_point_functions,
    function_factory,
)

BUILTIN: dict[str, Factory] = {
    "exact_match": basic.make_exact,
    "contains": basic.make_contains,
    "regex": basic.make_regex,
    "json_valid": basic.make_json_valid,
    "json_schema": basic.make_json_schema,
    "length": basic.make_length,
    "latency": basic.make_latency,
    "cost": basic.make_cost,
    "semantic_similarity": semantic.make_semantic,
    "answer_relevancy": semantic.make_relevancy,
    "context_precision": rag.make_precision,
    "context_recall": rag.make_recall,
    "faithfulness": rag.make_faithfulness,
    "judge": judge.make_judge,
}


class EvaluatorSpecError(ValueError):
    """An evaluator entry is wrong; `index` is its position in the list."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def split_entry(entry: Any) -> tuple[str, dict[str, Any]]:
    """(name, options) of one `evaluators:` entry (ValueError if it has another shape)."""
    if isinstance(entry, str) and entry:
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        name, options = next(iter(entry.items()))
        if options is None:
            options = {}
        if isinstance(name, str) and isinstance(options, dict):
            return name, options
    raise ValueError("an evaluator is a name, or {name: {options}}")


def build_one(
    entry: Any, tools: Tools, base: Path | None = None, *, functions: bool = True
) -> Evaluator:
    """One evaluator from its entry (ValueError names the problem). `functions=False` refuses
    `module:function` and `file.py:function` (requests over the API must not import code)."""
    name, options = split_entry(entry)
    factory = BUILTIN.get(name)
    if factory is None and ":" in name:
        if not functions:
            raise ValueError(
                f"{name!r}: functions by path are not allowed here; register them under the "
                "llmdeck.evaluators entry point group"
            )
        factory = function_factory(name, base)
    if factory is None:
        registered = entry_point_functions()
        if name not in registered:
            known = ", ".join(sorted([*BUILTIN, *registered]))
            raise ValueError(f"unknown evaluator {name!r}; known: {known}, or module:function")
        factory = entry_point_factory(registered[name], name)
    rename = options.get("name")
    if rename is not None and not isinstance(rename, str):
        raise ValueError("name must be a text")
    evaluator = factory(options, tools)
    if rename:
        evaluator.name = rename
    return evaluator


def build_evaluators(
    entries: list[Any], tools: Tools, base: Path | None = None, *, functions: bool = True
) -> list[Evaluator]:
    """Evaluators for a list of entries; EvaluatorSpecError says which entry is wrong. Two
    evaluators may not share a score name."""
    built: list[Evaluator] = []
    for index, entry in enumerate(entries):
        try:
            evaluator = build_one(entry, tools, base, functions=functions)
        except ValueError as exc:
            raise EvaluatorSpecError(index, str(exc)) from None
        if any(e.name == evaluator.name for e in built):
            raise EvaluatorSpecError(
                index, f"two evaluators are named {evaluator.name!r}; rename one with name:"
            )
        built.append(evaluator)
    return built
