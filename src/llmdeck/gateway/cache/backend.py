"""The one interface every cache backend implements (in-process, Redis)."""

from __future__ import annotations

import asyncio
from typing import Protocol

import numpy as np

from llmdeck.gateway.cache.entry import Entry
from llmdeck.gateway.cache.index import Hit, VectorIndex

Candidate = tuple[Entry, float]


class CacheBackend(Protocol):
    """Stores entries by exact key, finds semantic ones by similarity, bounds and expires them.

    Entries past their `expires_at` are never returned. `put` evicts the least recently used
    entries of the alias beyond `max_entries`.
    """

    async def start(self) -> None:
        """Connect, and load what survives from before."""
        ...

    async def close(self) -> None:
        """Write what is pending and disconnect."""
        ...

    async def get(self, key: str) -> Entry | None:
        """The live entry with this exact key."""
        ...

    async def nearest(
        self, namespace: str, vector: np.ndarray, floor: float, k: int
    ) -> list[Candidate]:
        """Up to `k` live entries of `namespace` with similarity >= `floor`, best first."""
        ...

    async def put(self, entry: Entry, max_entries: int) -> None:
        """Store (or replace) an entry, then evict down to `max_entries` for its alias."""
        ...

    async def touch(self, entry: Entry) -> None:
        """Count a hit on the entry and mark it recently used."""
        ...

    async def delete(self, entry: Entry) -> None:
        """Remove an entry (a suspected wrong answer)."""
        ...

    async def clear(self, alias: str | None = None) -> int:
        """Remove every entry (of one alias); how many there were."""
        ...

    async def count(self) -> int:
        """How many entries are stored (live or not yet swept)."""
        ...


class Indexes:
    """One vector index per semantic namespace, trained off the event loop when due."""

    def __init__(self) -> None:
        self.by_namespace: dict[str, VectorIndex] = {}
        self._training: set[asyncio.Future[None]] = set()

    def add(self, namespace: str, key: str, vector: np.ndarray) -> None:
        """Index a vector (training the namespace's cells in a thread when due)."""
        index = self.by_namespace.get(namespace)
        if index is None or index.dim != len(vector):
            index = self.by_namespace[namespace] = VectorIndex(len(vector))
        if not index.add(key, vector):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            index.train()
            return
        future = loop.run_in_executor(None, index.train)
        self._training.add(future)
        future.add_done_callback(self._training.discard)

    async def settle(self) -> None:
        """Wait for trainings under way."""
        if self._training:
            await asyncio.gather(*self._training, return_exceptions=True)

    def remove(self, namespace: str | None, key: str) -> None:
        """Forget a vector."""
        if namespace is None:
            return
        index = self.by_namespace.get(namespace)
        if index is None:
            return
        index.remove(key)
        if not len(index):
            del self.by_namespace[namespace]

    def search(self, namespace: str, vector: np.ndarray, floor: float, k: int) -> list[Hit]:
        """(id, similarity) of the nearest vectors of the namespace over `floor`, best first."""
        index = self.by_namespace.get(namespace)
        if index is None or index.dim != len(vector):
            return []
        return index.search(vector, k, floor)

    def clear(self) -> None:
        """Forget everything."""
        self.by_namespace.clear()
