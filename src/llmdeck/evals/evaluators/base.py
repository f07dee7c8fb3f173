"""The evaluator protocol: a Case in (an item and what the target answered), an EvalScore out.

Every evaluator, built in or custom, is built by a factory from its options and the shared
`Tools` (the gateway's embeddings and chat, for the evaluators that need a model). A score is in
[0, 1], higher is better, with an explanation; `None` means unmeasured (a judge that failed, an
item without the expected answer it needs) and is left out of every mean.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from llmdeck.evals.items import Item


@dataclass(frozen=True)
class Chunk:
    """A retrieved passage (RAG targets)."""

    id: str
    document_id: str
    text: str
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """What an evaluator judges: the item, the target's answer text, and how it went."""

    item: Item
    output: str
    chunks: tuple[Chunk, ...] = ()
    latency_ms: float | None = None
    cost: float | None = None

    @property
    def context(self) -> list[str]:
        """The passages the answer should rest on: what was retrieved, else the item's own
        (its `context`, or a `context` variable)."""
        if self.chunks:
            return [c.text for c in self.chunks]
        if self.item.context:
            return list(self.item.context)
        given = self.item.variables.get("context")
        return [given] if isinstance(given, str) and given else []


@dataclass(frozen=True)
class EvalScore:
    """A score in [0, 1] (None: unmeasured) and why; `spread` is the stdev over repeats."""

    value: float | None
    explanation: str = ""
    spread: float | None = None
    values: tuple[float | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored with each result."""
        out: dict[str, Any] = {"value": self.value, "explanation": self.explanation}
        if self.values:
            out["values"] = list(self.values)
            out["spread"] = self.spread
        return out


def unmeasured(why: str) -> EvalScore:
    """A score that could not be taken (never counted as a zero)."""
    return EvalScore(None, why)


def passed(ok: bool, explanation: str) -> EvalScore:
    """1.0 or 0.0."""
    return EvalScore(1.0 if ok else 0.0, explanation)


def repeated(scores: Sequence[EvalScore]) -> EvalScore:
    """Several takes of one score: their mean over the measured ones, and their spread."""
    values = tuple(s.value for s in scores)
    measured = [v for v in values if v is not None]
    if not measured:
        return EvalScore(None, scores[-1].explanation if scores else "", None, values)
    spread = statistics.pstdev(measured) if len(measured) > 1 else 0.0
    mean = sum(measured) / len(measured)
    return EvalScore(mean, scores[-1].explanation, spread, values)


class Evaluator(Protocol):
    """Scores one case."""

    name: str

    async def evaluate(self, case: Case) -> EvalScore:
        """The score of `case`."""
        ...


Embed = Callable[[list[str]], Awaitable[np.ndarray]]
"""Unit vectors for texts (the gateway's embedding model)."""

Complete = Callable[[str, list[dict[str, Any]]], Awaitable[str]]
"""A chat completion's text: (model alias, messages) -> text; raises on failure."""

RenderJudge = Callable[[dict[str, Any]], Awaitable[tuple[list[dict[str, Any]], str | None]]]
"""The judge prompt rendered with variables: (messages, the prompt's model alias)."""


@dataclass(frozen=True)
class Tools:
    """What model-backed evaluators use; any may be missing (those evaluators then refuse)."""

    embed: Embed | None = None
    complete: Complete | None = None
    render_judge: RenderJudge | None = None
    judge_model: str = "chat"
    judge_retries: int = 2


Factory = Callable[[dict[str, Any], Tools], Evaluator]
"""Builds an evaluator from its options (ValueError names a bad option)."""


def options_check(options: dict[str, Any], known: set[str]) -> None:
    """ValueError naming the first unknown option."""
    unknown = sorted(set(options) - known - {"name"})
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"unknown option {unknown[0]!r}; known: {listed}")
