"""The embedded engine's ANN index: FAISS HNSW (or IVF-Flat) over the vectors' slots, searched
with an optional bitmap of allowed slots, its breadth scaled by the filter's selectivity.

Why FAISS: measured on docs100k (see docs/benchmarks.md), its HNSW gives the best speed at equal
recall of the libraries installable here, and it is the only one whose filtered search takes a
native bitmap (hnswlib and usearch call back into Python per candidate). FAISS HNSW cannot
remove vectors: deleted slots stay in the graph, masked out, until `optimize` rebuilds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from llmdeck.config import IndexSettings, Metric
from llmdeck.vectors.types import Vector

Slots = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]

MAX_EF = 2000
# Breadth grows as selectivity falls: ef = ef_search / s ** SCALE. Measured on docs100k with
# uniform filters: 0.75 keeps recall@10 >= 0.95 from 2% to 100% selectivity.
SCALE = 0.75
# Exact search over m rows costs about as much as a graph search of breadth m / 13 (measured on
# docs100k: ~0.15 us per row gathered and scored, ~2 us per unit of ef).
EXACT_PER_EF = 13


def breadth(base: int, selectivity: float, cap: int) -> int:
    """Search breadth (ef or probes) for a filter that keeps `selectivity` of the rows."""
    return int(min(cap, math.ceil(base / max(selectivity, 1e-6) ** SCALE)))


class Ann:
    """A FAISS index whose ids are slots 0..size-1, in the order vectors were added."""

    def __init__(self, settings: IndexSettings, dim: int, metric: Metric) -> None:
        self.settings = settings
        self.dim = dim
        self.metric = metric
        self.index: Any = None  # a faiss index (its stubs are partial)

    @property
    def size(self) -> int:
        """How many slots the index holds."""
        return 0 if self.index is None else int(self.index.ntotal)

    def _faiss_metric(self) -> int:
        return int(faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT)

    def build(self, matrix: Vector) -> None:
        """A new index over `matrix` (slot i is row i)."""
        s = self.settings
        index: Any
        if s.type == "ivfflat":
            lists = max(1, min(s.lists, len(matrix) // 39))
            quantizer = faiss.IndexFlat(self.dim, self._faiss_metric())
            index = faiss.IndexIVFFlat(quantizer, self.dim, lists, self._faiss_metric())
            index.train(matrix)
        else:
            index = faiss.IndexHNSWFlat(self.dim, s.m, self._faiss_metric())
            index.hnsw.efConstruction = s.ef_construction
        index.add(matrix)
        self.index = index

    def add(self, matrix: Vector) -> None:
        """Append slots."""
        assert self.index is not None
        self.index.add(matrix)

    def search(
        self,
        vector: Vector,
        k: int,
        allowed: npt.NDArray[np.uint8] | None,
        selectivity: float,
        settings: IndexSettings | None = None,
    ) -> tuple[Scores, Slots]:
        """Top-k (scores higher-is-better, slots); `allowed` is a little-endian packed bitmap."""
        assert self.index is not None
        s = settings or self.settings
        selector = (
            None if allowed is None else faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(allowed))
        )
        if s.type == "ivfflat":
            probes = breadth(s.probes, selectivity, int(self.index.nlist))
            params: Any = faiss.SearchParametersIVF(sel=selector, nprobe=probes)  # type: ignore[call-arg]
        else:
            ef = max(k, breadth(s.ef_search, selectivity, MAX_EF))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
        distances, labels = self.index.search(vector.reshape(1, -1), k, params=params)
        found = labels[0] >= 0
        scores, slots = distances[0][found], labels[0][found].astype(np.int64)
        if self.metric == "l2":
            scores = -np.sqrt(np.maximum(scores, 0))
        return scores.astype(np.float32), slots

    def cost_rows(self, selectivity: float, settings: IndexSettings | None = None) -> int:
        """How many rows an exact search could score for the cost of this index's search at
        `selectivity`: below it, exact search over the matching rows is the better plan."""
        assert self.index is not None
        s = settings or self.settings
        if s.type == "ivfflat":
            nlist = int(self.index.nlist)
            return breadth(s.probes, selectivity, nlist) * self.size // nlist
        return EXACT_PER_EF * breadth(s.ef_search, selectivity, MAX_EF)

    def save(self, path: Path) -> None:
        """Write the index to `path` (atomically: a temporary file, then a rename)."""
        assert self.index is not None
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Read the index written by `save`."""
        self.index = faiss.read_index(str(path))
        if isinstance(self.index, faiss.IndexHNSW):
            self.index.hnsw.efConstruction = self.settings.ef_construction
