"""The semantic cache's index: nearest questions by cosine similarity, in numpy.

Below `partition_at` vectors the index is one matrix, scanned whole (exact). From there on it
is an inverted file (as FAISS's IVF): spherical k-means splits the vectors into about
`cells_per_root * sqrt(n)` cells, and a search scans only the `probes` cells whose centroids
are nearest the query. An approximate search can only miss a neighbour, which turns a hit
into a miss, never a miss into a wrong hit. The cells are trained again, off the lock, each
time the index has doubled since the last training; changes made meanwhile are replayed onto
the new cells before they replace the old ones.

At 100,000 questions of 384 dimensions a search scans about 3% of the vectors (see
docs/benchmarks.md, `## Caching`).
"""

from __future__ import annotations

import threading

import numpy as np

Hit = tuple[str, float]
_Op = tuple[str, str, np.ndarray | None]  # ("add" | "del", id, vector)


class _Cell:
    """A growable matrix of vectors and their ids; removal moves the last row into the gap."""

    __slots__ = ("count", "ids", "vectors")

    def __init__(self, dim: int, capacity: int = 16) -> None:
        self.vectors = np.empty((capacity, dim), dtype=np.float32)
        self.ids: list[str] = []
        self.count = 0

    def add(self, key: str, vector: np.ndarray) -> int:
        if self.count == len(self.vectors):
            grown = np.empty((2 * len(self.vectors), self.vectors.shape[1]), dtype=np.float32)
            grown[: self.count] = self.vectors[: self.count]
            self.vectors = grown
        self.vectors[self.count] = vector
        self.ids.append(key)
        self.count += 1
        return self.count - 1

    def remove(self, row: int) -> str | None:
        """Drop `row`; the id of the vector moved into it, if any."""
        last = self.count - 1
        moved = None
        if row != last:
            self.vectors[row] = self.vectors[last]
            self.ids[row] = self.ids[last]
            moved = self.ids[row]
        self.ids.pop()
        self.count -= 1
        return moved

    def scores(self, vector: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.vectors[: self.count] @ vector
        return scores


class VectorIndex:
    """Unit vectors by id; `search` returns the ids most similar to a query. Thread-safe."""

    def __init__(
        self,
        dim: int,
        *,
        partition_at: int = 4096,
        cells_per_root: float = 2.0,
        probes: int = 12,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.partition_at = partition_at
        self.cells_per_root = cells_per_root
        self.probes = probes
        self.seed = seed
        self._lock = threading.Lock()
        self._cells: list[_Cell] = [_Cell(dim)]
        self._centroids: np.ndarray | None = None
        self._where: dict[str, tuple[int, int]] = {}
        self._trained_at = 0
        self._journal: list[_Op] | None = None

    def __len__(self) -> int:
        return len(self._where)

    @property
    def partitioned(self) -> bool:
        """Whether searches scan a few cells rather than everything."""
        return self._centroids is not None

    def add(self, key: str, vector: np.ndarray) -> bool:
        """Add (or replace) a vector. True when the cells are due to be trained again: call
        `train()`, ideally off the event loop."""
        vector = self._check(vector)
        with self._lock:
            self._put(key, vector)
            if self._journal is not None:
                self._journal.append(("add", key, vector))
            return self._due()

    def remove(self, key: str) -> None:
        """Forget a vector (no error if it is unknown)."""
        with self._lock:
            self._drop(key)
            if self._journal is not None:
                self._journal.append(("del", key, None))

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def search(self, vector: np.ndarray, k: int = 4, floor: float = -1.0) -> list[Hit]:
        """Up to `k` (id, similarity) pairs with similarity >= `floor`, best first."""
        vector = self._check(vector)
        found: list[Hit] = []
        with self._lock:
            for cell in self._probe(vector):
                if not cell.count:
                    continue
                scores = cell.scores(vector)
                rows = np.flatnonzero(scores >= floor)
                if len(rows) > k:
                    rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
                found.extend((cell.ids[r], float(scores[r])) for r in rows)
        found.sort(key=lambda hit: -hit[1])
        return found[:k]

    def train(self) -> None:
        """Split the vectors into cells again, if due. Slow at scale: the lock is held only
        to copy the vectors and to swap the new cells in."""
        with self._lock:
            if self._journal is not None or not self._due():
                return
            ids = [key for cell in self._cells for key in cell.ids[: cell.count]]
            matrix = np.concatenate([cell.vectors[: cell.count] for cell in self._cells])
            self._journal = []
        try:
            centroids = _kmeans(matrix, self._cell_count(len(ids)), self.seed)
            cells, where = _assign(matrix, ids, centroids)
        except BaseException:
            with self._lock:
                self._journal = None
            raise
        with self._lock:
            journal, self._journal = self._journal, None
            self._cells, self._centroids, self._where = cells, centroids, where
            self._trained_at = len(ids)
            for op, key, vector in journal:
                if op == "add" and vector is not None:
                    self._put(key, vector)
                else:
                    self._drop(key)

    def _due(self) -> bool:
        size = len(self._where)
        return size >= self.partition_at and size >= 2 * self._trained_at

    def _cell_count(self, size: int) -> int:
        return max(2, int(self.cells_per_root * size**0.5))

    def _check(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise ValueError(f"vector has {vector.shape[0]} dimensions; the index has {self.dim}")
        return vector

    def _probe(self, vector: np.ndarray) -> list[_Cell]:
        if self._centroids is None:
            return self._cells
        scores = self._centroids @ vector
        probes = min(self.probes, len(scores))
        best = np.argpartition(-scores, probes - 1)[:probes]
        return [self._cells[i] for i in best]

    def _put(self, key: str, vector: np.ndarray) -> None:
        self._drop(key)
        cell = 0 if self._centroids is None else int(np.argmax(self._centroids @ vector))
        self._where[key] = (cell, self._cells[cell].add(key, vector))

    def _drop(self, key: str) -> None:
        place = self._where.pop(key, None)
        if place is None:
            return
        cell, row = place
        moved = self._cells[cell].remove(row)
        if moved is not None:
            self._where[moved] = (cell, row)


def _kmeans(matrix: np.ndarray, cells: int, seed: int, rounds: int = 6) -> np.ndarray:
    """Spherical k-means on a sample of the rows: unit centroids."""
    rng = np.random.default_rng(seed)
    sample = matrix
    if len(matrix) > 32 * cells:
        sample = matrix[rng.choice(len(matrix), 32 * cells, replace=False)]
    centroids = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(rounds):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        empty = ~sums.any(axis=1)
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return centroids.astype(np.float32)


def _assign(
    matrix: np.ndarray, ids: list[str], centroids: np.ndarray
) -> tuple[list[_Cell], dict[str, tuple[int, int]]]:
    dim = matrix.shape[1]
    nearest = np.empty(len(matrix), dtype=np.int64)
    for start in range(0, len(matrix), 8192):  # bounded temporaries
        block = matrix[start : start + 8192]
        nearest[start : start + len(block)] = np.argmax(block @ centroids.T, axis=1)
    order = np.argsort(nearest, kind="stable")
    bounds = np.searchsorted(nearest[order], np.arange(len(centroids) + 1))
    cells: list[_Cell] = []
    where: dict[str, tuple[int, int]] = {}
    for cell_index in range(len(centroids)):
        rows = order[bounds[cell_index] : bounds[cell_index + 1]]
        cell = _Cell(dim, max(16, len(rows)))
        cell.vectors[: len(rows)] = matrix[rows]
        cell.ids = [ids[r] for r in rows]
        cell.count = len(rows)
        cells.append(cell)
        where.update((ids[r], (cell_index, row)) for row, r in enumerate(rows))
    return cells, where
