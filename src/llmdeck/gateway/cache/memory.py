"""The in-process cache backend: entries in a dict, least recently used order per alias, a
vector index per semantic namespace, and (optionally) the database underneath, so the cache
survives restarts. One process's cache; replicas share theirs through Redis."""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

from llmdeck.gateway.cache.backend import Candidate, Indexes
from llmdeck.gateway.cache.entry import Entry
from llmdeck.gateway.cache.persist import Persistence


class MemoryBackend:
    """Entries in this process; `persistence` writes them behind to the database."""

    def __init__(self, persistence: Persistence | None = None, load_limit: int = 100_000) -> None:
        self.persistence = persistence
        self.load_limit = load_limit
        self._entries: dict[str, Entry] = {}
        self._recency: dict[str, OrderedDict[str, None]] = {}
        self._indexes = Indexes()

    async def start(self) -> None:
        if self.persistence is None:
            return
        for entry in await self.persistence.load(self.load_limit):
            self._insert(entry)
        self.persistence.start()

    async def close(self) -> None:
        await self._indexes.settle()
        if self.persistence is not None:
            await self.persistence.close()

    async def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expired():
            self._remove(entry)
            return None
        return entry

    async def nearest(
        self, namespace: str, vector: np.ndarray, floor: float, k: int
    ) -> list[Candidate]:
        found: list[Candidate] = []
        for key, score in self._indexes.search(namespace, vector, floor, k):
            entry = await self.get(key)
            if entry is not None:
                found.append((entry, score))
        return found

    async def put(self, entry: Entry, max_entries: int) -> None:
        entry.last_used = entry.last_used or time.time()
        old = self._entries.get(entry.key)
        if old is not None:
            self._indexes.remove(old.namespace, old.key)
        self._insert(entry)
        if self.persistence is not None:
            self.persistence.put(entry)
        self._evict(entry.alias, max_entries)

    async def touch(self, entry: Entry) -> None:
        entry.hits += 1
        entry.last_used = time.time()
        recency = self._recency.get(entry.alias)
        if recency is not None and entry.key in recency:
            recency.move_to_end(entry.key)
        if self.persistence is not None:
            self.persistence.touch(entry)

    async def delete(self, entry: Entry) -> None:
        known = self._entries.get(entry.key)
        if known is not None:
            self._remove(known)

    async def clear(self, alias: str | None = None) -> int:
        doomed = [e for e in self._entries.values() if alias is None or e.alias == alias]
        for entry in doomed:
            self._forget(entry)
        if self.persistence is not None:
            await self.persistence.clear(alias)
        return len(doomed)

    async def count(self) -> int:
        return len(self._entries)

    def _insert(self, entry: Entry) -> None:
        self._entries[entry.key] = entry
        recency = self._recency.setdefault(entry.alias, OrderedDict())
        recency[entry.key] = None
        recency.move_to_end(entry.key)
        if entry.namespace is not None and entry.vector is not None:
            self._indexes.add(entry.namespace, entry.key, entry.vector)

    def _evict(self, alias: str, max_entries: int) -> None:
        """Least recently used first, past the bound; expired ones at the old end too."""
        recency = self._recency.get(alias)
        now = time.time()
        while recency:
            oldest = self._entries[next(iter(recency))]
            if len(recency) <= max_entries and not oldest.expired(now):
                break
            self._remove(oldest)

    def _remove(self, entry: Entry) -> None:
        self._forget(entry)
        if self.persistence is not None:
            self.persistence.delete(entry.key)

    def _forget(self, entry: Entry) -> None:
        self._entries.pop(entry.key, None)
        recency = self._recency.get(entry.alias)
        if recency is not None:
            recency.pop(entry.key, None)
        self._indexes.remove(entry.namespace, entry.key)
