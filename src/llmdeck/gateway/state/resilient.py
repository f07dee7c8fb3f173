"""Redis with a local fallback: the gateway keeps serving when Redis does not answer.

While Redis is reachable every operation goes to it. When an operation fails because Redis is
unreachable, that operation and every later one run on local state instead, with each limit
scaled to this replica's share (1/N of it, N being the replicas last seen through Redis
heartbeats), and each change is journaled. A monitor pings Redis every `reconnect_interval`;
once it answers, the journal (`journal.py`, folded so it stays small) is replayed into Redis
(window counts still inside their window, open reservations, spend, settlements), the local
counters are dropped, and Redis is used again.
Budgets that Redis lost while it was away are seeded again from the database by their next
reservation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from llmdeck.gateway.state.base import Admission, BudgetState, Reservation, WindowCheck
from llmdeck.gateway.state.journal import Journal
from llmdeck.gateway.state.local import LocalState
from llmdeck.gateway.state.redis import UNAVAILABLE, RedisState

log = logging.getLogger(__name__)

Listener = Callable[[bool, str], None]
T = TypeVar("T")


class ResilientState:
    """StateBackend: Redis when it answers, this process's own state when it does not."""

    name = "redis"

    def __init__(
        self,
        redis: RedisState,
        *,
        local: LocalState | None = None,
        reconnect_interval: float = 1.0,
        replica: str | None = None,
    ) -> None:
        self.redis = redis
        self.local = local or LocalState()
        self.interval = reconnect_interval
        self.replica = replica or f"{os.uname().nodename}:{os.getpid()}:{os.urandom(3).hex()}"
        self.shared = False
        self.replicas = 1
        self.since = time.time()
        self.reason = "not started"
        self.journal = Journal()
        self.listeners: list[Listener] = []
        self._monitor: asyncio.Task[None] | None = None

    # lifecycle

    async def start(self) -> None:
        """Connect if Redis answers (else start on local state) and start the monitor."""
        try:
            await self.redis.ping()
            await self._heartbeat()
            self._mark_shared()
        except UNAVAILABLE as exc:
            self._degrade(exc)
        await self.redis.start()
        self._monitor = asyncio.create_task(self._watch(), name="llmdeck-state-monitor")

    async def close(self) -> None:
        """Stop the monitor and close Redis."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        with contextlib.suppress(*UNAVAILABLE):
            await self.redis.client.zrem(self.redis.key("replicas"), self.replica)
        await self.redis.close()

    def on_change(self, listener: Listener) -> None:
        """Call `listener(shared, reason)` whenever Redis is lost or regained."""
        self.listeners.append(listener)

    # switching

    def lost(self, exc: BaseException) -> None:
        """Another user of this Redis found it unreachable: fall back now (the monitor switches
        back once it answers)."""
        self._degrade(exc)

    def _degrade(self, exc: BaseException) -> None:
        if not self.shared and self.reason != "not started":
            return
        self.shared = False
        self.since = time.time()
        self.reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.local.share = 1.0 / max(1, self.replicas)
        log.warning(
            "redis unreachable (%s): enforcing limits locally (1/%d share)",
            self.reason,
            self.replicas,
        )
        self._tell(False)

    def _mark_shared(self) -> None:
        was_degraded = self.reason != "not started"
        self.shared = True
        self.since = time.time()
        self.reason = ""
        self.local.clear()
        self.local.share = 1.0
        if was_degraded:
            log.warning("redis is back: limits are shared again")
            self._tell(True)

    def _tell(self, shared: bool) -> None:
        for listener in self.listeners:
            try:
                listener(shared, self.reason)
            except Exception:
                log.exception("state listener failed")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if self.shared:
                    await self._heartbeat()
                else:
                    await self.redis.ping()
                    await self._heartbeat()
                    await self._catch_up()
                    self._mark_shared()  # no await since the journal was found empty
            except UNAVAILABLE as exc:
                self._degrade(exc)
            except Exception:
                log.exception("state monitor failed")

    async def _heartbeat(self) -> None:
        """Say this replica is alive; count the replicas alive in the last three intervals."""
        key = self.redis.key("replicas")
        now = time.time()
        async with self.redis.client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {self.replica: now})
            pipe.zremrangebyscore(key, "-inf", now - 3 * self.interval - 1)
            pipe.zcard(key)
            results = await pipe.execute()
        self.replicas = max(1, int(results[-1]))

    async def _catch_up(self) -> None:
        """Replay the journal into Redis until it is empty (requests keep adding to it while
        the replay awaits); what fails stays for the next try."""
        await self.redis.client.connection_pool.disconnect()  # connections to the old Redis
        while len(self.journal):
            await self.journal.replay(self.redis)

    async def _shared_or_local(self, remote: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        if not self.shared:
            return False, None
        try:
            return True, await remote()
        except UNAVAILABLE as exc:
            self._degrade(exc)
            return False, None

    # operations

    async def admit(self, checks: Sequence[WindowCheck]) -> Admission:
        """Redis, else local with this replica's share (journaled)."""
        done, result = await self._shared_or_local(lambda: self.redis.admit(checks))
        if done and result is not None:
            return result
        admission = self.local.admit_now(checks)
        if admission.allowed:
            for check, bucket in zip(checks, admission.buckets, strict=True):
                self.journal.window(check, bucket, check.amount)
        return admission

    async def adjust(self, check: WindowCheck, bucket: int, delta: int) -> None:
        """Redis, else local (journaled)."""
        done, _ = await self._shared_or_local(lambda: self.redis.adjust(check, bucket, delta))
        if not done:
            await self.local.adjust(check, bucket, delta)
            self.journal.window(check, bucket, delta)

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
    ) -> Reservation:
        """Redis, else local with this replica's share of what is left (journaled)."""
        done, result = await self._shared_or_local(
            lambda: self.redis.reserve(
                key, lease, amount, limit, seed=seed, expire_at=expire_at, lease_ttl=lease_ttl
            )
        )
        if done and result is not None:
            return result
        reservation = await self.local.reserve(
            key, lease, amount, limit, seed=seed, expire_at=expire_at, lease_ttl=lease_ttl
        )
        if reservation.allowed:
            self.journal.reserve(key, lease, amount, expire_at, lease_ttl)
        return reservation

    async def settle(
        self, key: str, lease: str, spent: float, *, expire_at: float | None = None
    ) -> BudgetState | None:
        """Redis, else local (journaled even if the local state does not know the budget: the
        reservation may have been made in Redis before it went away)."""
        done, result = await self._shared_or_local(
            lambda: self.redis.settle(key, lease, spent, expire_at=expire_at)
        )
        if done:
            return result
        self.journal.settle(key, lease, spent, expire_at)
        return await self.local.settle(key, lease, spent, expire_at=expire_at)

    async def budget(self, key: str) -> BudgetState | None:
        """Redis, else local."""
        done, result = await self._shared_or_local(lambda: self.redis.budget(key))
        return result if done else await self.local.budget(key)

    async def get(self, key: str) -> bytes | None:
        """Redis, else local."""
        done, result = await self._shared_or_local(lambda: self.redis.get(key))
        return result if done else await self.local.get(key)

    async def set(
        self, key: str, value: bytes, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        """Redis, else local."""
        done, result = await self._shared_or_local(
            lambda: self.redis.set(key, value, ttl=ttl, only_new=only_new)
        )
        if done:
            return bool(result)
        return await self.local.set(key, value, ttl=ttl, only_new=only_new)

    async def incr(self, key: str, amount: float = 1.0, *, ttl: float | None = None) -> float:
        """Redis, else local (journaled)."""
        done, result = await self._shared_or_local(lambda: self.redis.incr(key, amount, ttl=ttl))
        if done and result is not None:
            return result
        self.journal.incr(key, amount, ttl)
        return await self.local.incr(key, amount, ttl=ttl)

    async def publish(self, channel: str, message: str) -> None:
        """Redis (every replica), else this replica only (the others poll the database)."""
        done, _ = await self._shared_or_local(lambda: self.redis.publish(channel, message))
        if not done:
            self.local.deliver(channel, message)

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Messages from Redis, and local ones while it is away."""
        self.redis.subscribe(channel, callback)
        self.local.subscribe(channel, callback)

    def status(self) -> dict[str, Any]:
        """Ready either way; `shared: false` and `degraded: true` while Redis is away."""
        status = self.redis.status()
        status.update(replicas=self.replicas, shared=self.shared)
        if not self.shared:
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since))
            status.update(
                degraded=True,
                since=since,
                pending_replay=len(self.journal),
                message=(
                    f"redis unreachable since {since} ({self.reason}): limits and budgets are "
                    f"enforced by this replica alone, with a 1/{self.replicas} share of each, "
                    "until it returns"
                ),
            )
        return status
