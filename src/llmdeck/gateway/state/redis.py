"""State in Redis, shared by every replica: each operation is one Lua script (atomic), and keys
carry a `{hash tag}` so one script's keys live on one Redis Cluster slot.

Commands fail fast (no retries, a short timeout): the caller (ResilientState) falls back to local
state rather than make requests wait for an unreachable Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from llmdeck.gateway.state import scripts
from llmdeck.gateway.state.base import (
    EPSILON,
    Admission,
    BudgetState,
    Reservation,
    WindowCheck,
)

log = logging.getLogger(__name__)

UNAVAILABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    TimeoutError,
    OSError,
)
"""Errors that mean Redis cannot be used right now (as opposed to a bug)."""


POOL_SIZE = 64
POOL_WAIT = 5.0


def connect(url: str, timeout: float) -> aioredis.Redis:
    """A client that fails fast when Redis does not answer (`timeout` seconds per command; one
    retry, on a new connection, only when a pooled connection turns out closed, as after a Redis
    restart), and under load waits for one of its `POOL_SIZE` connections rather than open more
    (the default pool refuses request 101 outright, which would look like Redis being down)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=max(POOL_WAIT, timeout),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=0,
    )
    return aioredis.Redis.from_pool(pool)


def _number(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


def _at(expire_at: float | None) -> str:
    return str(int(expire_at)) if expire_at else "0"


class RedisState:
    """StateBackend over one Redis (or a Redis-compatible server)."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str = "llmdeck:", timeout: float = 0.5) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.client = connect(url, timeout)
        self._admit = self.client.register_script(scripts.ADMIT)
        self._adjust = self.client.register_script(scripts.ADJUST)
        self._reserve = self.client.register_script(scripts.RESERVE)
        self._settle = self.client.register_script(scripts.SETTLE)
        self._subscribers: dict[str, list[Callable[[str], None]]] = {}
        self._listener: asyncio.Task[None] | None = None

    def key(self, name: str) -> str:
        """`name` under this deployment's prefix."""
        return self.prefix + name

    async def start(self) -> None:
        """Start listening for published messages (reconnecting by itself)."""
        if self._subscribers and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="llmdeck-state-listener")

    async def close(self) -> None:
        """Stop listening and close the connections."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self.client.aclose()

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self.client.ping())

    async def admit(self, checks: Sequence[WindowCheck]) -> Admission:
        """One script counts every window (see StateBackend.admit)."""
        args: list[str] = []
        for check in checks:
            args += [str(check.amount), str(check.limit), repr(check.window), repr(check.width)]
        out = await self._admit(keys=[self.key(c.key) for c in checks], args=args)
        blocked = int(out[0])
        pairs = out[2:]
        buckets = tuple(int(pairs[i]) for i in range(0, len(pairs), 2))
        used = tuple(_number(pairs[i]) for i in range(1, len(pairs), 2))
        if blocked:
            return Admission(False, blocked - 1, _number(out[1]), used)
        return Admission(True, None, 0.0, used, buckets)

    async def adjust(
        self, check: WindowCheck, bucket: int, delta: int, *, create: bool = False
    ) -> None:
        """Correct an earlier admission's bucket (`create`: add it if absent)."""
        args = [str(bucket), str(delta), repr(check.window), repr(check.width), str(int(create))]
        await self._adjust(keys=[self.key(check.key)], args=args)

    def _budget_keys(self, key: str) -> list[str]:
        full = self.key(key)
        return [full, full + ":leases"]

    async def reserve(
        self,
        key: str,
        lease: str,
        amount: float,
        limit: float,
        *,
        seed: float | None = None,
        expire_at: float | None = None,
        lease_ttl: float = 900.0,
        force: bool = False,
    ) -> Reservation:
        """One script checks and holds (see StateBackend.reserve)."""
        args: list[str] = [
            lease,
            repr(amount),
            repr(limit),
            "" if seed is None else repr(seed),
            _at(expire_at),
            repr(lease_ttl),
            repr(EPSILON),
            "1" if force else "0",
        ]
        out = await self._reserve(keys=self._budget_keys(key), args=args)
        if out and out[0] in (b"missing", "missing"):
            return Reservation(False, missing=True)
        return Reservation(bool(int(out[0])), _number(out[1]), _number(out[2]))

    async def settle(
        self, key: str, lease: str, spent: float, *, expire_at: float | None = None
    ) -> BudgetState | None:
        """One script releases the lease and adds the spend."""
        args = [lease, repr(spent), _at(expire_at)]
        out = await self._settle(keys=self._budget_keys(key), args=args)
        return BudgetState(_number(out[0]), _number(out[1])) if out else None

    async def budget(self, key: str) -> BudgetState | None:
        """HMGET spent, held."""
        spent, held = await self.client.hmget(self.key(key), ["spent", "held"])
        if spent is None:
            return None
        return BudgetState(_number(spent), max(0.0, _number(held or 0)))

    async def get(self, key: str) -> bytes | None:
        """GET."""
        value = await self.client.get(self.key(key))
        return value.encode() if isinstance(value, str) else value

    async def set(
        self, key: str, value: bytes, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        """SET [PX ttl] [NX]."""
        px = None if ttl is None else max(1, int(ttl * 1000))
        return bool(await self.client.set(self.key(key), value, px=px, nx=only_new))

    async def incr(self, key: str, amount: float = 1.0, *, ttl: float | None = None) -> float:
        """INCRBYFLOAT, with PEXPIRE NX on creation."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(self.key(key), amount)
            if ttl is not None:
                pipe.pexpire(self.key(key), max(1, int(ttl * 1000)), nx=True)
            results = await pipe.execute()
        return _number(results[0])

    async def publish(self, channel: str, message: str) -> None:
        """PUBLISH (subscribers on every replica, this one included, receive it)."""
        await self.client.publish(self.key(channel), message)

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Receive messages on `channel` (takes effect at `start`)."""
        self._subscribers.setdefault(self.key(channel), []).append(callback)

    async def _listen(self) -> None:
        """Deliver published messages; reconnect after any failure."""
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._subscribers)
                async for message in pubsub.listen():
                    self._deliver(message)
            except UNAVAILABLE as exc:
                log.debug("redis subscription lost: %s", exc)
            finally:
                with contextlib.suppress(*UNAVAILABLE):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self.timeout)

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        data = message.get("data")
        if isinstance(channel, bytes):
            channel = channel.decode()
        text = data.decode() if isinstance(data, bytes) else str(data)
        for callback in self._subscribers.get(str(channel), ()):
            try:
                callback(text)
            except Exception:
                log.exception("state subscriber failed on %s", channel)

    def status(self) -> dict[str, Any]:
        """Redis is shared by every replica."""
        safe = self.client.connection_pool.connection_kwargs
        where = f"{safe.get('host', '?')}:{safe.get('port', '?')}/{safe.get('db', 0)}"
        return {"ready": True, "backend": "redis", "shared": True, "redis": where}
