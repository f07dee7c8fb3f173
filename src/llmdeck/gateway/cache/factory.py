"""Choosing the cache backend from the settings."""

from __future__ import annotations

from llmdeck.config import Settings
from llmdeck.gateway.cache.backend import CacheBackend
from llmdeck.gateway.cache.memory import MemoryBackend
from llmdeck.gateway.cache.persist import Persistence
from llmdeck.gateway.cache.redis_backend import RedisBackend
from llmdeck.gateway.state import StateBackend, shared_redis
from llmdeck.store import Store


def build_backend(
    settings: Settings, store: Store | None = None, state: StateBackend | None = None
) -> CacheBackend:
    """Redis when configured (`cache.backend: redis`, or `auto` with a Redis URL), through the
    shared state's connection when `state` is Redis-backed; otherwise in-process, persisted in
    `store` when `cache.persist` is on."""
    choice = settings.cache.backend
    if choice == "redis" or (choice == "auto" and settings.redis_url):
        if not settings.redis_url:
            raise ValueError("cache.backend is redis but no Redis URL is configured")
        link = shared_redis(state)
        return RedisBackend(link or settings.redis_url, settings.cache.prefix)
    persistence = Persistence(store) if settings.cache.persist and store is not None else None
    limit = sum(alias.cache.max_entries for alias in settings.models if alias.cache.active)
    return MemoryBackend(persistence, load_limit=max(1, limit))
