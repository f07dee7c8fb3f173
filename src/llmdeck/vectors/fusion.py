"""Hybrid search: fusing a vector ranking with a keyword ranking.

- Reciprocal-rank fusion (Cormack et al., 2009): score = sum over lists of 1 / (60 + rank); it
  needs no calibration between BM25 and cosine scales, which is why it is the default.
- Weighted: each list's scores min-max scaled to [0, 1], then alpha * vector + (1 - alpha) *
  keyword; an item missing from a list gets 0 there.
"""

from __future__ import annotations

from llmdeck.vectors.backends.base import Scored

RRF_K = 60


def rrf(vector: list[Scored], keyword: list[Scored], k: int) -> list[Scored]:
    """Reciprocal-rank fusion of two rankings, best first."""
    scores: dict[str, float] = {}
    for ranking in (vector, keyword):
        for rank, (ident, _score) in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (RRF_K + rank)
    return _top(scores, k)


def weighted(vector: list[Scored], keyword: list[Scored], k: int, alpha: float) -> list[Scored]:
    """alpha * scaled vector score + (1 - alpha) * scaled keyword score, best first."""
    scores: dict[str, float] = {}
    for ranking, weight in ((vector, alpha), (keyword, 1.0 - alpha)):
        for ident, scaled in _minmax(ranking):
            scores[ident] = scores.get(ident, 0.0) + weight * scaled
    return _top(scores, k)


def _minmax(ranking: list[Scored]) -> list[Scored]:
    if not ranking:
        return []
    values = [s for _, s in ranking]
    low, high = min(values), max(values)
    span = high - low
    return [(i, 1.0 if span == 0 else (s - low) / span) for i, s in ranking]


def _top(scores: dict[str, float], k: int) -> list[Scored]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
