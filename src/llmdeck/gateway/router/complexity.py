"""The complexity classifier behind `routing: complexity`: how hard is this request, and so
which tier (`simple` or `complex`) should answer it.

The score is a logistic function of the signals in `signals.py`, pulled towards the vote of
the nearest labelled examples when the alias gives some (`complexity.examples`):

    score = (1 - w) * sigmoid(BIAS + sum(WEIGHTS[s] * signal[s])) + w * vote

where `w` is `complexity.examples_weight` when an example is similar enough to say
anything, else 0. The weights were set by hand on the training half of
`bench/data/complexity_prompts.jsonl`; `bench/router.py` reports accuracy on the other half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from llmdeck.config import ComplexitySettings
from llmdeck.gateway.router.signals import bounded, signals
from llmdeck.gateway.router.similarity import (
    Embed,
    EmbeddingNeighbours,
    LexicalNeighbours,
    Neighbours,
)
from llmdeck.gateway.wire.openai import ChatRequest

Tier = Literal["simple", "complex"]
BIAS = -2.0
WEIGHTS = {
    "length": 2.6,
    "code": 2.4,
    "math": 2.2,
    "reasoning": 2.6,
    "steps": 1.4,
    "clauses": 1.5,
    "turns": 1.2,
    "tools": 0.8,
    "simple": -2.5,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A request's complexity score, tier and what drove it."""

    score: float
    tier: Tier
    threshold: float
    signals: dict[str, float]
    vote: float | None = None

    def explain(self) -> str:
        """E.g. `0.81 >= 0.50 (code 1.00, reasoning 0.67; examples 0.90)`."""
        relation = ">=" if self.tier == "complex" else "<"
        strongest = sorted(
            ((WEIGHTS[n] * v, n, v) for n, v in self.signals.items() if v), reverse=True
        )
        shown = ", ".join(f"{n} {v:.2f}" for _, n, v in strongest[:3]) or "no signals"
        if self.vote is not None:
            shown += f"; examples {self.vote:.2f}"
        return f"{self.score:.2f} {relation} {self.threshold:.2f} ({shown})"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class ComplexityClassifier:
    """Scores chat requests; one per alias that routes by complexity."""

    def __init__(self, settings: ComplexitySettings, embed: Embed | None = None) -> None:
        self.settings = settings
        self.neighbours: Neighbours | None = None
        examples = settings.examples
        if examples and settings.similarity == "embedding" and embed is not None:
            self.neighbours = EmbeddingNeighbours(examples, settings.neighbours, embed)
        elif examples:
            self.neighbours = LexicalNeighbours(examples, settings.neighbours)

    async def warm(self) -> None:
        """Prepare what the first request would otherwise wait for (example embeddings)."""
        if isinstance(self.neighbours, EmbeddingNeighbours):
            await self.neighbours.warm()

    async def classify(self, request: ChatRequest) -> Verdict:
        """The request's verdict."""
        found = signals(request)
        score = _sigmoid(BIAS + sum(WEIGHTS[name] * value for name, value in found.items()))
        vote = None
        if self.neighbours is not None:
            last = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")
            share, nearest = await self.neighbours.vote(bounded(last))
            if nearest > 0:
                vote = share
                weight = self.settings.examples_weight
                score = (1 - weight) * score + weight * share
        threshold = self.settings.threshold
        tier: Tier = "complex" if score >= threshold else "simple"
        return Verdict(score, tier, threshold, found, vote)
