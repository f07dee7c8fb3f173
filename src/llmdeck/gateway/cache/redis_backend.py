"""The Redis cache backend, shared by every replica.

Layout under the prefix P:
- `P e:KEY`    a hash: `meta` (the entry as JSON), `hits`, and for semantic entries `ns`,
               `exp` and `vec` (float32 bytes); it expires with the entry.
- `P lru:ALIAS` a sorted set of keys by last use, for eviction past `max_entries`.
- `P sem`      a sorted set of semantic keys by a sequence number, so each replica can fetch
               the vectors added since it last looked; `P semexp` the same keys by expiry.
Redis has no vector search without modules, so each replica keeps the semantic vectors in a
local index (the same one the in-process backend uses), synchronised before every semantic
lookup with one `ZRANGEBYSCORE` round trip. Entries evicted or invalidated elsewhere drop out
of a replica's index when they are next found missing.

In a gateway the backend borrows the shared state's Redis (`gateway.state.SharedRedis`): while
that state runs on its local fallback every lookup is a miss and nothing is stored, without
waiting on Redis; an error from Redis tells the state, so every part falls back at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import numpy as np
from redis.asyncio import Redis

from llmdeck.gateway.cache.backend import Candidate, Indexes
from llmdeck.gateway.cache.entry import Entry, vector_bytes, vector_from_bytes
from llmdeck.gateway.state import UNAVAILABLE, SharedRedis

_PUT = """
local entry, lru, sem, semexp, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local meta, vec, ns, ttl_ms, now, key, max, expires, prefix =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
redis.call('DEL', entry)
redis.call('HSET', entry, 'meta', meta, 'hits', 0)
if vec ~= '' then
  redis.call('HSET', entry, 'vec', vec, 'ns', ns, 'exp', expires)
  redis.call('ZADD', sem, redis.call('INCR', seq), key)
  redis.call('ZADD', semexp, expires, key)
end
redis.call('PEXPIRE', entry, ttl_ms)
redis.call('ZADD', lru, now, key)
local excess = redis.call('ZCARD', lru) - max
if excess > 0 then
  local popped = redis.call('ZPOPMIN', lru, excess)
  for i = 1, #popped, 2 do
    redis.call('DEL', prefix .. 'e:' .. popped[i])
    redis.call('ZREM', sem, popped[i])
    redis.call('ZREM', semexp, popped[i])
  end
end
return 1
"""

_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'hits', 1)
redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
return 1
"""

T = TypeVar("T")
SWEEP_INTERVAL = 60.0
_PAGE = 1000


class RedisBackend:
    """Entries in Redis under `prefix`; semantic vectors mirrored in a local index. `redis`: a
    URL (a connection of its own) or the shared state's connection."""

    def __init__(self, redis: str | SharedRedis, prefix: str) -> None:
        self.link = redis if isinstance(redis, SharedRedis) else None
        self.url = redis if isinstance(redis, str) else None
        self.prefix = prefix
        self.redis: Redis | None = None
        self._indexes = Indexes()
        self._local: dict[str, tuple[str, float]] = {}  # key -> (namespace, expires_at)
        self._seq = 0.0
        self._sync_lock = asyncio.Lock()
        self._swept = 0.0

    @property
    def _r(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("the Redis cache backend is not started")
        return self.redis

    def _k(self, *parts: str) -> str:
        return self.prefix + "".join(parts)

    def _away(self) -> bool:
        """Whether the shared state fell back to local: serve misses, store nothing."""
        return self.link is not None and not self.link.available()

    async def start(self) -> None:
        if self.link is not None:
            self.redis = self.link.client
        else:
            assert self.url is not None
            self.redis = Redis.from_url(self.url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._put = self.redis.register_script(_PUT)
        self._touch = self.redis.register_script(_TOUCH)

    async def close(self) -> None:
        await self._indexes.settle()
        if self.redis is not None and self.link is None:
            await self.redis.aclose()
        self.redis = None

    async def _guard(self, work: Awaitable[T]) -> T:
        """Await a Redis call; an outage is reported to the shared state, then raised."""
        try:
            return await work
        except UNAVAILABLE as exc:
            if self.link is not None:
                self.link.lost(exc)
            raise

    async def get(self, key: str) -> Entry | None:
        if self._away():
            return None
        meta, hits = await self._guard(self._r.hmget(self._k("e:", key), ["meta", "hits"]))
        if meta is None:
            return None
        entry = Entry.from_meta(key, meta, hits=int(hits or 0))
        return None if entry.expired() else entry

    async def nearest(
        self, namespace: str, vector: np.ndarray, floor: float, k: int
    ) -> list[Candidate]:
        if self._away():
            return []
        await self._guard(self._sync())
        found: list[Candidate] = []
        for key, score in self._indexes.search(namespace, vector, floor, k):
            entry = await self.get(key)
            if entry is None:
                self._unindex(key)
                continue
            found.append((entry, score))
        return found

    async def put(self, entry: Entry, max_entries: int) -> None:
        if self._away():
            return
        now = time.time()
        semantic = entry.namespace is not None and entry.vector is not None
        ttl_ms = max(1, int((entry.expires_at - now) * 1000))
        keys = [
            self._k("e:", entry.key),
            self._k("lru:", entry.alias),
            self._k("sem"),
            self._k("semexp"),
            self._k("seq"),
        ]
        vec = vector_bytes(entry.vector) if semantic and entry.vector is not None else b""
        args: list[Any] = [
            entry.meta(),
            vec,
            entry.namespace or "",
            ttl_ms,
            now,
            entry.key,
            max_entries,
            entry.expires_at,
            self.prefix,
        ]
        await self._guard(self._put(keys=keys, args=args))

    async def touch(self, entry: Entry) -> None:
        entry.hits += 1
        if self._away():
            return
        keys = [self._k("e:", entry.key), self._k("lru:", entry.alias)]
        await self._guard(self._touch(keys=keys, args=[time.time(), entry.key]))

    async def delete(self, entry: Entry) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("e:", entry.key))
            pipe.zrem(self._k("lru:", entry.alias), entry.key)
            pipe.zrem(self._k("sem"), entry.key)
            pipe.zrem(self._k("semexp"), entry.key)
            await pipe.execute()
        self._unindex(entry.key)

    async def clear(self, alias: str | None = None) -> int:
        if alias is not None:
            lists = [self._k("lru:", alias)]
        else:
            lists = [_text(k) async for k in self._r.scan_iter(match=self._k("lru:*"))]
        removed = 0
        for name in lists:
            keys = [_text(k) for k in await self._r.zrange(name, 0, -1)]
            for start in range(0, len(keys), _PAGE):
                page = keys[start : start + _PAGE]
                async with self._r.pipeline(transaction=False) as pipe:
                    pipe.delete(*[self._k("e:", key) for key in page])
                    pipe.zrem(self._k("sem"), *page)
                    pipe.zrem(self._k("semexp"), *page)
                    removed += int((await pipe.execute())[0])
            await self._r.delete(name)
            for key in keys:
                self._unindex(key)
        return removed

    async def count(self) -> int:
        total = 0
        async for name in self._r.scan_iter(match=self._k("lru:*")):
            total += int(await self._r.zcard(name))
        return total

    async def _sync(self) -> None:
        """Index the semantic entries added since the last look (any replica's)."""
        async with self._sync_lock:
            while True:
                page: list[Any] = await self._r.zrangebyscore(
                    self._k("sem"), f"({self._seq}", "+inf", start=0, num=_PAGE, withscores=True
                )
                if not page:
                    break
                await self._index_page([(_text(k), float(s)) for k, s in page])
                if len(page) < _PAGE:
                    break
            if time.time() - self._swept > SWEEP_INTERVAL:
                await self._sweep()

    async def _index_page(self, page: list[tuple[str, float]]) -> None:
        async with self._r.pipeline(transaction=False) as pipe:
            for key, _ in page:
                pipe.hmget(self._k("e:", key), ["ns", "vec", "exp"])
            rows = await pipe.execute()
        for (key, seq), (ns, vec, expires) in zip(page, rows, strict=True):
            self._seq = max(self._seq, seq)
            if ns is None or vec is None or expires is None:
                continue
            self._local[key] = (ns.decode(), float(expires))
            self._indexes.add(ns.decode(), key, vector_from_bytes(vec))

    async def _sweep(self) -> None:
        """Drop expired vectors here, and expired keys from the shared sets."""
        now = time.time()
        self._swept = now
        for key in [k for k, (_, expires) in self._local.items() if expires <= now]:
            self._unindex(key)
        stale = await self._r.zrangebyscore(self._k("semexp"), "-inf", now, start=0, num=_PAGE)
        if stale:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.zrem(self._k("sem"), *stale)
                pipe.zrem(self._k("semexp"), *stale)
                await pipe.execute()

    def _unindex(self, key: str) -> None:
        known = self._local.pop(key, None)
        if known is not None:
            self._indexes.remove(known[0], key)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
