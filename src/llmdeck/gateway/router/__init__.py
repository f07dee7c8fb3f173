"""The router: picks a deployment for each call by the alias's strategy (or a tier by the
request's complexity), retries with backoff, fails over, and breaks circuits."""

from llmdeck.config import Settings
from llmdeck.gateway.router.circuit import CircuitStore, LocalCircuits
from llmdeck.gateway.router.events import EventSink, recorder_sink
from llmdeck.gateway.router.retry import TIMEOUT_HEADER, request_timeout
from llmdeck.gateway.router.router import Router
from llmdeck.gateway.state import StateBackend, shared_redis


def circuit_store(settings: Settings, state: StateBackend | None = None) -> CircuitStore:
    """Where circuit state lives: in this process, or in Redis (shared by replicas) when
    `redis_url` is set, through the shared state's connection when `state` is Redis-backed."""
    if settings.redis_url:
        from llmdeck.gateway.router.circuit_redis import RedisCircuits

        link = shared_redis(state)
        if link is not None:
            return RedisCircuits(link)
        return RedisCircuits(settings.redis_url, prefix=settings.state.prefix)
    return LocalCircuits()


__all__ = [
    "TIMEOUT_HEADER",
    "CircuitStore",
    "EventSink",
    "LocalCircuits",
    "Router",
    "circuit_store",
    "recorder_sink",
    "request_timeout",
]
