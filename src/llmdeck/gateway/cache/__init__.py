"""The gateway's response cache: exact and semantic lookups, scoped keys, agreement checks,
and backends (in-process with persistence, Redis) behind one protocol."""

from llmdeck.gateway.cache.agree import disagreement
from llmdeck.gateway.cache.backend import CacheBackend, Candidate
from llmdeck.gateway.cache.entry import Entry
from llmdeck.gateway.cache.factory import build_backend
from llmdeck.gateway.cache.index import VectorIndex
from llmdeck.gateway.cache.keys import Fingerprint, fingerprint, scope_of
from llmdeck.gateway.cache.memory import MemoryBackend
from llmdeck.gateway.cache.recording import Recording
from llmdeck.gateway.cache.redis_backend import RedisBackend
from llmdeck.gateway.cache.replay import replay
from llmdeck.gateway.cache.stats import AliasStats, CacheStats

__all__ = [
    "AliasStats",
    "CacheBackend",
    "CacheStats",
    "Candidate",
    "Entry",
    "Fingerprint",
    "MemoryBackend",
    "Recording",
    "RedisBackend",
    "VectorIndex",
    "build_backend",
    "disagreement",
    "fingerprint",
    "replay",
    "scope_of",
]
