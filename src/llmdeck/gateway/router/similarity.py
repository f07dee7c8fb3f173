"""Nearest labelled examples of a request, for the complexity classifier: by words (TF-IDF
over words and word pairs, cosine) or by the local embedding model. Each answers with the
share of `complex` among the nearest examples, weighted by similarity, and the similarity of
the nearest one."""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from llmdeck.config import ComplexityExample

Embed = Callable[[list[str]], Any]
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MIN_SIMILARITY = 0.05  # below this the nearest example tells nothing


class Neighbours(Protocol):
    """Votes of the nearest labelled examples."""

    async def vote(self, text: str) -> tuple[float, float]:
        """(share of complex among the nearest, similarity of the nearest)."""
        ...


def _terms(text: str) -> Counter[str]:
    words = _WORD.findall(text.lower())
    return Counter(words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)])


def _vote(similarities: Sequence[float], labels: Sequence[bool], k: int) -> tuple[float, float]:
    ranked = sorted(zip(similarities, labels, strict=True), reverse=True)[:k]
    ranked = [(s, label) for s, label in ranked if s > MIN_SIMILARITY]
    if not ranked:
        return 0.5, 0.0
    total = sum(s for s, _ in ranked)
    return sum(s for s, label in ranked if label) / total, ranked[0][0]


class LexicalNeighbours:
    """TF-IDF cosine over words and word pairs; microseconds per example."""

    def __init__(self, examples: Sequence[ComplexityExample], k: int) -> None:
        self.k = k
        self.labels = [e.tier == "complex" for e in examples]
        counts = [_terms(e.text) for e in examples]
        frequency: Counter[str] = Counter(t for c in counts for t in c)
        n = len(examples)
        self.idf = {t: math.log((n + 1) / (df + 1)) + 1.0 for t, df in frequency.items()}
        self.vectors = [self._vector(c) for c in counts]

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        weights = {t: (1.0 + math.log(c)) * self.idf[t] for t, c in counts.items() if t in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    async def vote(self, text: str) -> tuple[float, float]:
        """See `Neighbours.vote`."""
        query = self._vector(_terms(text))
        similarities = [
            sum(w * vector.get(t, 0.0) for t, w in query.items()) for vector in self.vectors
        ]
        return _vote(similarities, self.labels, self.k)


class EmbeddingNeighbours:
    """Cosine of sentence embeddings from an injected `embed(texts) -> (n, dim)` array
    (L2-normalised rows). The examples are embedded once, on first use; each request costs
    one embedding, run off the event loop."""

    def __init__(self, examples: Sequence[ComplexityExample], k: int, embed: Embed) -> None:
        self.k = k
        self.embed = embed
        self.texts = [e.text for e in examples]
        self.labels = [e.tier == "complex" for e in examples]
        self.matrix: np.ndarray[Any, Any] | None = None
        self._lock = asyncio.Lock()

    async def warm(self) -> None:
        """Embed the examples (once)."""
        async with self._lock:
            if self.matrix is None:
                vectors = await asyncio.to_thread(self.embed, self.texts)
                self.matrix = np.asarray(vectors, dtype=np.float32)

    async def vote(self, text: str) -> tuple[float, float]:
        """See `Neighbours.vote`."""
        await self.warm()
        assert self.matrix is not None
        query = np.asarray(await asyncio.to_thread(self.embed, [text]), dtype=np.float32)[0]
        similarities = (self.matrix @ query).tolist()
        return _vote(similarities, self.labels, self.k)
