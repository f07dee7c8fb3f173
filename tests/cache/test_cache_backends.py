"""Both cache backends against one contract (the in-process one, persisted in SQLite and
PostgreSQL, and Redis under a unique prefix), plus what only one of them does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from tests.conftest import REDIS_URL

from llmdeck.gateway.cache import CacheBackend, Entry, MemoryBackend, RedisBackend
from llmdeck.gateway.cache.persist import Persistence
from llmdeck.store import open_store

Make = Callable[[], CacheBackend]


def entry(
    key: str, *, alias: str = "a", ttl: float = 60.0, vector: Any = None, **extra: Any
) -> Entry:
    now = time.time()
    return Entry(
        key=key,
        alias=alias,
        response={"id": key, "model": "m", "choices": []},
        prompt_tokens=3,
        completion_tokens=4,
        cost=0.5,
        created_at=now,
        expires_at=now + ttl,
        namespace="ns" if vector is not None else None,
        question=extra.get("question", key),
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
    )


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make(request: pytest.FixtureRequest, redis_prefix: str) -> Make:
    if request.param == "memory":
        return MemoryBackend
    return lambda: RedisBackend(REDIS_URL, redis_prefix)


def run(make: Make, scenario: Callable[[CacheBackend], Awaitable[None]]) -> None:
    async def main() -> None:
        backend = make()
        await backend.start()
        try:
            await scenario(backend)
        finally:
            await backend.close()

    asyncio.run(main())


def test_put_get_and_hits(make: Make) -> None:
    async def scenario(backend: CacheBackend) -> None:
        assert await backend.get("k1") is None
        await backend.put(entry("k1"), 10)
        found = await backend.get("k1")
        assert found is not None and found.response["id"] == "k1" and found.cost == 0.5
        assert found.hits == 0
        await backend.touch(found)
        again = await backend.get("k1")
        assert again is not None and again.hits == 1
        assert await backend.count() == 1

    run(make, scenario)


def test_expired_entries_are_not_returned(make: Make) -> None:
    async def scenario(backend: CacheBackend) -> None:
        await backend.put(entry("old", ttl=0.2), 10)
        assert await backend.get("old") is not None
        await asyncio.sleep(0.3)
        assert await backend.get("old") is None

    run(make, scenario)


def test_least_recently_used_are_evicted_per_alias(make: Make) -> None:
    async def scenario(backend: CacheBackend) -> None:
        for key in ("a1", "a2", "a3"):
            await backend.put(entry(key), 3)
            await asyncio.sleep(0.01)
        await backend.put(entry("b1", alias="b"), 3)  # another alias: its own bound
        first = await backend.get("a1")
        assert first is not None
        await backend.touch(first)
        await backend.put(entry("a4"), 3)
        assert await backend.get("a2") is None
        assert all([await backend.get(k) for k in ("a1", "a3", "a4", "b1")])

    run(make, scenario)


def test_nearest_by_similarity_within_a_namespace(make: Make) -> None:
    async def scenario(backend: CacheBackend) -> None:
        await backend.put(entry("x", vector=unit(1, 0, 0)), 10)
        await backend.put(entry("y", vector=unit(0, 1, 0)), 10)
        found = await backend.nearest("ns", unit(1, 0.1, 0), 0.9, 4)
        assert [(e.key, round(s, 3)) for e, s in found] == [("x", 0.995)]
        assert await backend.nearest("ns", unit(0, 0, 1), 0.5, 4) == []
        assert await backend.nearest("other", unit(1, 0, 0), 0.5, 4) == []

    run(make, scenario)


def test_delete_and_clear(make: Make) -> None:
    async def scenario(backend: CacheBackend) -> None:
        await backend.put(entry("x", vector=unit(1, 0)), 10)
        await backend.put(entry("y", alias="b"), 10)
        found = await backend.get("x")
        assert found is not None
        await backend.delete(found)
        assert await backend.get("x") is None
        assert await backend.nearest("ns", unit(1, 0), 0.5, 4) == []
        assert await backend.clear("b") == 1
        assert await backend.get("y") is None

    run(make, scenario)


@pytest.mark.redis
def test_redis_replicas_share_semantic_entries(redis_prefix: str) -> None:
    async def main() -> None:
        one, two = RedisBackend(REDIS_URL, redis_prefix), RedisBackend(REDIS_URL, redis_prefix)
        await one.start()
        await two.start()
        try:
            assert await two.nearest("ns", unit(1, 0), 0.5, 4) == []
            await one.put(entry("x", vector=unit(1, 0)), 10)
            found = await two.nearest("ns", unit(1, 0.05), 0.9, 4)
            assert [e.key for e, _ in found] == ["x"]
            shown = await two.get("x")
            assert shown is not None
            await two.delete(shown)
            assert await one.nearest("ns", unit(1, 0), 0.5, 4) == []  # found missing, dropped
        finally:
            await one.close()
            await two.close()

    asyncio.run(main())


def test_memory_backend_persists_across_restart(database_url: str) -> None:
    store = open_store(database_url)

    async def first() -> None:
        backend = MemoryBackend(Persistence(store))
        await backend.start()
        await backend.put(entry("kept", vector=unit(1, 0)), 10)
        await backend.put(entry("gone"), 10)
        await backend.put(entry("short", ttl=0.1), 10)
        gone = await backend.get("gone")
        assert gone is not None
        await backend.delete(gone)
        kept = await backend.get("kept")
        assert kept is not None
        await backend.touch(kept)
        await backend.close()

    async def second() -> None:
        backend = MemoryBackend(Persistence(store))
        await backend.start()
        kept = await backend.get("kept")
        assert kept is not None and kept.hits == 1 and kept.question == "kept"
        assert await backend.get("gone") is None
        assert await backend.get("short") is None
        found = await backend.nearest("ns", unit(1, 0), 0.9, 4)
        assert [e.key for e, _ in found] == ["kept"]
        await backend.close()

    try:
        asyncio.run(first())
        time.sleep(0.15)
        asyncio.run(second())
    finally:
        store.close()
