"""The shared state's Redis connection, lent to the parts that need Lua scripts of their own
(circuit breakers, the response cache): one connection pool and one set of timeouts per
process, and one view of whether Redis is there.

While the state runs on its local fallback (`available()` is False) those parts fall back too,
without waiting on a Redis that does not answer; an outage one of them meets first is reported
with `lost(exc)`, so every part switches at once. The state's monitor switches them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from llmdeck.gateway.state.base import StateBackend
from llmdeck.gateway.state.resilient import ResilientState


@dataclass(frozen=True, slots=True)
class SharedRedis:
    """A borrowed Redis client (not to be closed by the borrower) and its key prefix."""

    client: aioredis.Redis
    prefix: str
    state: ResilientState

    def available(self) -> bool:
        """Whether Redis is in use now (False: use a local fallback)."""
        return self.state.shared

    def lost(self, exc: BaseException) -> None:
        """Report that Redis did not answer: the state (and every borrower) falls back."""
        self.state.lost(exc)


def shared_redis(state: StateBackend | None) -> SharedRedis | None:
    """The Redis behind `state`, if it is the Redis-backed state."""
    if isinstance(state, ResilientState):
        return SharedRedis(state.redis.client, state.redis.prefix, state)
    return None
