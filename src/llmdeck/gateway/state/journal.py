"""What was counted locally while Redis was away, folded as it is written so that it stays as
small as the state it describes, however long the outage: one delta per window bucket still in
its window, the reservations still open, one spend total per budget, the settlements of
reservations made in Redis before it went away, one total per counter.

`replay` sends it all to Redis; each item leaves the journal only once Redis has it, so a replay
that fails half way resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmdeck.gateway.state.base import BUCKETS, WindowCheck, floor_bucket
from llmdeck.gateway.state.redis import RedisState

PRUNE_EVERY = 1000
NO_LEASE = "-"  # a lease Redis never held: settling it only adds the spend


@dataclass(frozen=True, slots=True)
class Open:
    """A reservation made locally and not settled yet."""

    key: str
    amount: float
    expire_at: float | None
    lease_ttl: float


class Journal:
    """Local changes to replay into Redis."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, float, int], int] = {}
        self.open: dict[str, Open] = {}
        self.spent: dict[str, tuple[float, float | None]] = {}
        self.settles: list[tuple[str, str, float, float | None]] = []
        self.counters: dict[str, tuple[float, float | None]] = {}
        self._writes = 0

    def __len__(self) -> int:
        parts = (self.windows, self.open, self.spent, self.settles, self.counters)
        return sum(len(part) for part in parts)

    def window(self, check: WindowCheck, bucket: int, delta: int) -> None:
        """An admission (or a correction) in a window bucket."""
        slot = (check.key, check.window, bucket)
        self.windows[slot] = self.windows.get(slot, 0) + delta
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune(time.time())

    def prune(self, now: float) -> None:
        """Forget buckets that have left their window (Redis would ignore them)."""
        for slot in list(self.windows):
            key, window, bucket = slot
            if bucket < floor_bucket(now - window, window / BUCKETS):
                del self.windows[slot]

    def reserve(
        self, key: str, lease: str, amount: float, expire_at: float | None, ttl: float
    ) -> None:
        """A reservation made locally."""
        self.open[lease] = Open(key, amount, expire_at, ttl)

    def settle(self, key: str, lease: str, spent: float, expire_at: float | None) -> None:
        """A settlement: of a local reservation, folded into the budget's spend; of one Redis
        holds, kept to release it there."""
        if self.open.pop(lease, None) is not None:
            total, _ = self.spent.get(key, (0.0, expire_at))
            self.spent[key] = (total + spent, expire_at)
        else:
            self.settles.append((key, lease, spent, expire_at))

    def incr(self, key: str, amount: float, ttl: float | None) -> None:
        """A counter increment."""
        total, first_ttl = self.counters.get(key, (0.0, ttl))
        self.counters[key] = (total + amount, first_ttl)

    async def replay(self, redis: RedisState) -> None:
        """Send everything to Redis; what fails stays for the next try."""
        for slot in list(self.windows):
            delta = self.windows.pop(slot)
            try:
                if delta:
                    check = WindowCheck(slot[0], 0, 0, slot[1])
                    await redis.adjust(check, slot[2], delta, create=True)
            except BaseException:
                self.windows[slot] = self.windows.get(slot, 0) + delta
                raise
        for lease in list(self.open):
            item = self.open.pop(lease)
            try:
                await redis.reserve(
                    item.key,
                    lease,
                    item.amount,
                    0.0,
                    force=True,
                    expire_at=item.expire_at,
                    lease_ttl=item.lease_ttl,
                )
            except BaseException:
                self.open[lease] = item
                raise
        await self._replay_spend(redis)
        for key in list(self.counters):
            amount, ttl = self.counters.pop(key)
            try:
                await redis.incr(key, amount, ttl=ttl)
            except BaseException:
                total, _ = self.counters.get(key, (0.0, ttl))
                self.counters[key] = (total + amount, ttl)
                raise

    async def _replay_spend(self, redis: RedisState) -> None:
        for key in list(self.spent):
            spent, expire_at = self.spent.pop(key)
            try:
                await redis.settle(key, NO_LEASE, spent, expire_at=expire_at)
            except BaseException:
                total, _ = self.spent.get(key, (0.0, expire_at))
                self.spent[key] = (total + spent, expire_at)
                raise
        while self.settles:
            key, lease, spent, expire_at = self.settles[0]
            await redis.settle(key, lease, spent, expire_at=expire_at)
            self.settles.pop(0)
