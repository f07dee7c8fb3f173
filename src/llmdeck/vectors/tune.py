"""Index tuning: measure recall against exact search on sampled queries for each search
breadth (HNSW ef_search, IVF probes), pick the fastest setting that meets the target recall,
and record it with the collection."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from llmdeck.config import IndexSettings
from llmdeck.vectors.collection import Collection
from llmdeck.vectors.types import Vector, VectorError

HNSW_EF = (10, 16, 24, 32, 40, 48, 64, 96, 128, 192, 256, 384, 512)
IVF_PROBES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256)
Progress = Callable[[int, int], None]
# How far tuning queries sit from the sampled rows, in nearest-neighbour distances. Calibrated
# on docs100k (real held-out queries): at 1.0 tuning chose ef_search 24 (real recall@10 0.940,
# under a 0.95 target), at 1.5 it chose 40 (real 0.971), at 2.0 it chose 192 (needlessly slow).
SPREAD = 1.5


@dataclass(frozen=True, slots=True)
class Trial:
    """One setting measured."""

    setting: int
    recall: float
    qps: float
    p95_ms: float


@dataclass(frozen=True, slots=True)
class Tuning:
    """What tuning found: the chosen setting (None if none met the target) and every trial."""

    parameter: str
    target_recall: float
    k: int
    queries: int
    chosen: Trial | None
    trials: list[Trial] = field(default_factory=list)
    at: float = field(default_factory=time.time)

    @property
    def met(self) -> bool:
        """Whether some setting reached the target."""
        return self.chosen is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["met"] = self.met
        return out


def tune(
    collection: Collection,
    *,
    target_recall: float = 0.95,
    k: int = 10,
    queries: int = 200,
    seed: int = 0,
    progress: Progress | None = None,
) -> Tuning:
    """Measure each candidate setting; the chosen one is the fastest meeting `target_recall`."""
    settings = collection.spec.index
    if settings.type == "flat":
        raise VectorError("this collection searches exactly (index type flat): nothing to tune")
    if not 0 < target_recall <= 1:
        raise VectorError("target_recall: must be in (0, 1]", param="target_recall")
    sample = [r for r in collection.index.sample(queries, seed) if r.vector is not None]
    if len(sample) < 10:
        raise VectorError(f"too few rows to tune ({len(sample)}); add data first")
    parameter = "probes" if settings.type == "ivfflat" else "ef_search"
    candidates: tuple[int, ...] = IVF_PROBES if settings.type == "ivfflat" else HNSW_EF
    if settings.type == "ivfflat":
        candidates = tuple(c for c in candidates if c <= settings.lists) or (settings.lists,)
    probes = _queries(collection, [r.vector for r in sample], seed)
    truth = [_nearest(collection, q, k, None) for q in probes]
    trials = []
    for step, value in enumerate(candidates):
        params = settings.model_copy(update={parameter: value})
        trials.append(_trial(collection, probes, truth, k, params, value))
        if progress is not None:
            progress(step + 1, len(candidates))
    meeting = [t for t in trials if t.recall >= target_recall]
    chosen = max(meeting, key=lambda t: t.qps) if meeting else None
    return Tuning(parameter, target_recall, k, len(probes), chosen, trials)


def _trial(
    collection: Collection,
    probes: list[Vector],
    truth: list[set[str]],
    k: int,
    params: IndexSettings,
    value: int,
) -> Trial:
    latencies, recalls = [], []
    for query, expected in zip(probes, truth, strict=True):
        started = time.perf_counter()
        found = _nearest(collection, query, k, params)
        latencies.append(time.perf_counter() - started)
        recalls.append(len(found & expected) / max(len(expected), 1))
    total = sum(latencies)
    return Trial(
        setting=value,
        recall=float(np.mean(recalls)),
        qps=len(probes) / total if total else float("inf"),
        p95_ms=float(np.percentile(latencies, 95) * 1000),
    )


def _nearest(
    collection: Collection, query: Vector, k: int, params: IndexSettings | None
) -> set[str]:
    """The ids of the k nearest items (exact when `params` is None)."""
    hits = collection.index.vector_search(query, k, None, exact=params is None, params=params)
    return {i for i, _ in hits}


def _queries(collection: Collection, rows: list[Any], seed: int) -> list[Vector]:
    """Query vectors like unseen data: each sampled row moved in a random direction by SPREAD
    times the distance to its own nearest neighbour. (A stored row as the query is too easy: it
    is a node of the graph, and tuning on it picks too small a search breadth.)"""
    rng = np.random.default_rng(seed)
    metric, out = collection.spec.metric, []
    for row in rows:
        hits = collection.index.vector_search(row, 2, None, exact=True)
        near = hits[1][1] if len(hits) > 1 else hits[0][1]
        norm2 = float(row @ row)
        if metric == "l2":
            distance = -near
        else:  # cosine (unit rows) or dot: |x - y|^2 = |x|^2 + |y|^2 - 2 x.y, with |y| ~ |x|
            distance = float(np.sqrt(max(0.0, 2 * norm2 - 2 * near)))
        step = rng.normal(size=row.shape).astype(np.float32)
        query = row + step * (SPREAD * distance / float(np.linalg.norm(step)))
        if collection.spec.normalize:
            query = query / np.linalg.norm(query)
        out.append(query.astype(np.float32))
    return out
