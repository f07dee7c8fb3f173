"""Embedding-based evaluators: semantic similarity to the expected answer, and answer
relevancy (how close the answer is to the question), through the gateway's embedding model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmdeck.evals.evaluators.base import (
    Case,
    Embed,
    EvalScore,
    Evaluator,
    Tools,
    options_check,
    unmeasured,
)


async def cosine(embed: Embed, a: str, b: str) -> float:
    """Cosine similarity of two texts, clipped to [0, 1]."""
    vectors = np.asarray(await embed([a, b]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    if not norms.all():
        return 0.0
    return float(np.clip(vectors[0] @ vectors[1] / (norms[0] * norms[1]), 0.0, 1.0))


@dataclass
class SemanticSimilarity:
    """Cosine similarity of answer and expected answer; with `min`, 1 or 0 against it."""

    embed: Embed
    min: float | None = None
    name: str = "semantic_similarity"

    async def evaluate(self, case: Case) -> EvalScore:
        expected = case.item.expected
        if expected is None or not case.output.strip():
            return unmeasured("no expected answer" if expected is None else "empty answer")
        text = expected if isinstance(expected, str) else " ".join(map(str, expected))
        similarity = await cosine(self.embed, case.output, text)
        if self.min is None:
            return EvalScore(similarity, f"similarity {similarity:.3f}")
        ok = similarity >= self.min
        return EvalScore(1.0 if ok else 0.0, f"similarity {similarity:.3f} vs min {self.min}")


@dataclass
class AnswerRelevancy:
    """Cosine similarity of the answer to the question (does it address what was asked)."""

    embed: Embed
    name: str = "answer_relevancy"

    async def evaluate(self, case: Case) -> EvalScore:
        question = case.item.question
        if not question.strip() or not case.output.strip():
            return unmeasured("no question or no answer")
        similarity = await cosine(self.embed, question, case.output)
        return EvalScore(similarity, f"similarity to the question {similarity:.3f}")


def make_semantic(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"min"})
    if tools.embed is None:
        raise ValueError(
            "needs the embedding model alias that evals.embedding_model names (default: embed)"
        )
    low = options.get("min")
    if low is not None and (not isinstance(low, int | float) or not 0 <= low <= 1):
        raise ValueError("min must be a number between 0 and 1")
    return SemanticSimilarity(tools.embed, float(low) if low is not None else None)


def make_relevancy(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, set())
    if tools.embed is None:
        raise ValueError(
            "needs the embedding model alias that evals.embedding_model names (default: embed)"
        )
    return AnswerRelevancy(tools.embed)
