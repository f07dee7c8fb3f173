"""Shared state for the gateway: rate-limit windows, budgets, key revocations, and (for the cache
and circuit breakers) plain values, counters and messages.

`open_state(settings)` gives one `StateBackend` per process: in-process without
`LLMDECK_REDIS_URL`, else Redis with a local fallback (`ResilientState`) that keeps serving when
Redis goes away and catches up when it returns.
"""

from llmdeck.config import Settings
from llmdeck.gateway.state.base import (
    BUCKETS,
    Admission,
    BudgetState,
    Reservation,
    StateBackend,
    WindowCheck,
)
from llmdeck.gateway.state.local import LocalState
from llmdeck.gateway.state.redis import UNAVAILABLE, RedisState
from llmdeck.gateway.state.resilient import ResilientState
from llmdeck.gateway.state.shared import SharedRedis, shared_redis


def open_state(settings: Settings) -> LocalState | ResilientState:
    """The state backend `settings` ask for (not started yet)."""
    if not settings.redis_url:
        return LocalState()
    redis = RedisState(
        settings.redis_url, prefix=settings.state.prefix, timeout=settings.state.timeout
    )
    return ResilientState(redis, reconnect_interval=settings.state.reconnect_interval)


__all__ = [
    "BUCKETS",
    "UNAVAILABLE",
    "Admission",
    "BudgetState",
    "LocalState",
    "RedisState",
    "Reservation",
    "ResilientState",
    "SharedRedis",
    "StateBackend",
    "WindowCheck",
    "open_state",
    "shared_redis",
]
