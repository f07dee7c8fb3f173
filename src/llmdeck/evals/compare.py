"""Comparing two runs: per-item and aggregate differences, and regressions that are credible.

Items are paired by id; an evaluator's difference is B minus A over the items both runs
measured. A paired bootstrap (resampling items with replacement, seeded) gives a confidence
interval for the mean difference; a regression is declared only when the whole interval lies
below zero (and below `-min_effect`), so noise between equivalent runs is not one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmdeck.evals.runs import Result

_CELLS = 4_000_000


@dataclass(frozen=True)
class Difference:
    """One evaluator's change from run A to run B."""

    evaluator: str
    mean_a: float | None
    mean_b: float | None
    delta: float | None
    low: float | None
    high: float | None
    paired: int
    regression: bool
    improvement: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ItemChange:
    """One item's scores in both runs."""

    item_id: str
    a: dict[str, float | None]
    b: dict[str, float | None]
    output_a: str | None
    output_b: str | None


@dataclass(frozen=True)
class Comparison:
    """Run A against run B (the baseline is A)."""

    a: str
    b: str
    confidence: float
    differences: list[Difference]
    items: list[ItemChange] = field(default_factory=list)

    @property
    def regressions(self) -> list[Difference]:
        """The evaluators that credibly got worse."""
        return [d for d in self.differences if d.regression]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "a": self.a, "b": self.b, "confidence": self.confidence,
            "differences": [d.to_dict() for d in self.differences],
            "regressions": [d.evaluator for d in self.regressions],
            "items": [i.__dict__ for i in self.items],
        }  # fmt: skip


def bootstrap_interval(
    deltas: np.ndarray, confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `deltas`."""
    rng = np.random.default_rng(seed)
    n = len(deltas)
    rows = max(1, _CELLS // n)  # resamples drawn at a time: memory stays bounded for big runs
    means = np.concatenate([
        deltas[rng.integers(0, n, size=(min(rows, resamples - start), n))].mean(axis=1)
        for start in range(0, resamples, rows)
    ])  # fmt: skip
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def compare(
    a_id: str,
    a: list[Result],
    b_id: str,
    b: list[Result],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    min_effect: float = 0.0,
) -> Comparison:
    """Compare run B against run A over the evaluators both have."""
    by_id = {r.item_id: r for r in a}
    pairs = [(by_id[r.item_id], r) for r in b if r.item_id in by_id]
    names = sorted({n for r in a for n in r.scores} & {n for r in b for n in r.scores})
    differences = [
        _difference(name, a, b, pairs, confidence, resamples, seed, min_effect) for name in names
    ]
    items = [
        ItemChange(
            ra.item_id,
            {n: ra.value(n) for n in names},
            {n: rb.value(n) for n in names},
            ra.output,
            rb.output,
        )
        for ra, rb in pairs
    ]
    return Comparison(a_id, b_id, confidence, differences, items)


def _mean(results: list[Result], name: str) -> float | None:
    values = [v for v in (r.value(name) for r in results) if v is not None]
    return sum(values) / len(values) if values else None


def _difference(
    name: str,
    a: list[Result],
    b: list[Result],
    pairs: list[tuple[Result, Result]],
    confidence: float,
    resamples: int,
    seed: int,
    min_effect: float,
) -> Difference:
    measured = [
        (va, vb)
        for ra, rb in pairs
        if (va := ra.value(name)) is not None and (vb := rb.value(name)) is not None
    ]
    mean_a, mean_b = _mean(a, name), _mean(b, name)
    if len(measured) < 2:
        return Difference(name, mean_a, mean_b, None, None, None, len(measured), False, False)
    deltas = np.array([vb - va for va, vb in measured], dtype=np.float64)
    delta = float(deltas.mean())
    low, high = bootstrap_interval(deltas, confidence, resamples, seed)
    regression = high < 0 and delta < -min_effect
    improvement = low > 0 and delta > min_effect
    return Difference(
        name, mean_a, mean_b, delta, low, high, len(measured), regression, improvement
    )
