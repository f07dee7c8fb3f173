"""In-process state: the default with no Redis, and the fallback while Redis is unreachable.

Every operation runs without awaiting anything, so on one event loop each is atomic. `share`
scales the limits when this process stands in for shared state (while Redis is down, each of N
replicas takes 1/N of every limit, and 1/N of what is left of every budget).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmdeck.gateway.state.base import (
    EPSILON,
    Admission,
    BudgetState,
    Reservation,
    WindowCheck,
    floor_bucket,
    retry_after,
)

Clock = Callable[[], float]


@dataclass(slots=True)
class _Budget:
    """Spent, and held: the sum of the open leases, kept as a total (many may be open at once).
    Leases are kept in the order they were made, which is the order they fall due (one lease
    TTL), so expiry looks only at the oldest."""

    seed: float
    spent: float
    expire_at: float | None
    held: float = 0.0
    leases: dict[str, tuple[float, float]] = field(default_factory=dict)  # lease: (amount, due)

    def hold(self, lease: str, amount: float, due: float) -> None:
        self.leases[lease] = (amount, due)
        self.held += amount

    def release(self, lease: str) -> None:
        found = self.leases.pop(lease, None)
        if found is not None:
            self.held = max(0.0, self.held - found[0]) if self.leases else 0.0

    def expire_leases(self, now: float) -> None:
        while self.leases:
            lease, (_, due) = next(iter(self.leases.items()))
            if due > now:
                return
            self.release(lease)


class LocalState:
    """State held by this process alone."""

    name = "local"

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.share = 1.0
        self._windows: dict[str, dict[int, float]] = {}
        self._budgets: dict[str, _Budget] = {}
        self._values: dict[str, tuple[bytes, float | None]] = {}
        self._subscribers: dict[str, list[Callable[[str], None]]] = {}

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to disconnect."""

    def clear(self) -> None:
        """Forget every counter (after the shared state has caught up with them)."""
        self._windows.clear()
        self._budgets.clear()
        self._values.clear()

    async def admit(self, checks: Sequence[WindowCheck]) -> Admission:
        """Count every check's amount if all fit (see StateBackend.admit)."""
        return self.admit_now(checks)

    def admit_now(self, checks: Sequence[WindowCheck]) -> Admission:
        """`admit`, synchronously."""
        now = self.clock()
        used: list[float] = []
        buckets: list[int] = []
        for index, check in enumerate(checks):
            window = self._window(check, now)
            total = sum(window.values())
            used.append(total)
            buckets.append(floor_bucket(now, check.width))
            limit = self._scaled(check.limit)
            if total + check.amount > limit:
                need = total + check.amount - limit
                wait = retry_after(list(window.items()), need, check, now)
                return Admission(False, index, wait, tuple(used))
        for check, bucket in zip(checks, buckets, strict=True):
            window = self._windows.setdefault(check.key, {})
            window[bucket] = window.get(bucket, 0) + check.amount
        return Admission(True, None, 0.0, tuple(used), tuple(buckets))

    async def adjust(self, check: WindowCheck, bucket: int, delta: int) -> None:
        """Add `delta` to an earlier admission's bucket, if it is still in the window."""
        window = self._window(check, self.clock())
        if bucket in window:
            window[bucket] += delta

    def _window(self, check: WindowCheck, now: float) -> dict[int, float]:
        window = self._windows.get(check.key)
        if window is None:
            return {}
        first = floor_bucket(now - check.window, check.width)
        for old in [b for b in window if b < first]:
            del window[old]
        return window

    def _scaled(self, limit: float) -> float:
        return limit if self.share >= 1 else max(1, math.floor(limit * self.share))

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
        """Hold `amount` under `lease` if the budget allows (see StateBackend.reserve)."""
        now = self.clock()
        budget = self._budget(key, now)
        if budget is None:
            if seed is None:
                return Reservation(False, missing=True)
            budget = self._budgets[key] = _Budget(seed=seed, spent=seed, expire_at=expire_at)
        budget.expire_leases(now)
        held = budget.held
        cap = limit if self.share >= 1 else budget.seed + (limit - budget.seed) * self.share
        if budget.spent < limit - EPSILON and budget.spent + held + amount <= cap + EPSILON:
            budget.hold(lease, amount, now + lease_ttl)
            return Reservation(True, budget.spent, held)
        return Reservation(False, budget.spent, held)

    async def settle(
        self, key: str, lease: str, spent: float, *, expire_at: float | None = None
    ) -> BudgetState | None:
        """Release `lease` and add `spent`, if the budget is known."""
        budget = self._budget(key, self.clock())
        if budget is None:
            return None
        budget.release(lease)
        budget.spent += spent
        return BudgetState(budget.spent, budget.held)

    async def budget(self, key: str) -> BudgetState | None:
        """The budget at `key`, if known."""
        budget = self._budget(key, self.clock())
        return None if budget is None else BudgetState(budget.spent, budget.held)

    def _budget(self, key: str, now: float) -> _Budget | None:
        budget = self._budgets.get(key)
        if budget is not None and budget.expire_at is not None and budget.expire_at <= now:
            del self._budgets[key]
            return None
        return budget

    async def get(self, key: str) -> bytes | None:
        """A value set with `set`, unless it expired."""
        item = self._values.get(key)
        if item is None:
            return None
        value, due = item
        if due is not None and due <= self.clock():
            del self._values[key]
            return None
        return value

    async def set(
        self, key: str, value: bytes, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        """Store `value`; with `only_new`, only if absent."""
        if only_new and await self.get(key) is not None:
            return False
        self._values[key] = (value, None if ttl is None else self.clock() + ttl)
        return True

    async def incr(self, key: str, amount: float = 1.0, *, ttl: float | None = None) -> float:
        """Add to a plain counter."""
        current = await self.get(key)
        if current is None:
            total = amount
            due = None if ttl is None else self.clock() + ttl
        else:
            total = float(current) + amount
            due = self._values[key][1]
        self._values[key] = (repr(total).encode(), due)
        return total

    async def publish(self, channel: str, message: str) -> None:
        """Call this process's subscribers."""
        self.deliver(channel, message)

    def deliver(self, channel: str, message: str) -> None:
        """Run the callbacks subscribed to `channel`."""
        for callback in self._subscribers.get(channel, ()):
            callback(message)

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback` for each message published on `channel`."""
        self._subscribers.setdefault(channel, []).append(callback)

    def status(self) -> dict[str, Any]:
        """In-process state is always ready, and shared with no other replica."""
        return {"ready": True, "backend": "local", "shared": False}
