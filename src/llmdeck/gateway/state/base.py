"""The StateBackend protocol: the few atomic operations that rate limits, budgets, key revocation
(and later the cache and circuit breakers) need from state shared by every replica.

Two kinds of counter:

- A *window* counts amounts (requests, tokens) over a sliding window. It is kept in buckets of
  `window / BUCKETS` seconds; a check counts every bucket that overlaps the window, the oldest in
  full, so it never admits more than the limit in any window (it may refuse a little early).
- A *budget* holds `spent` and `held` (reservations not yet settled). `reserve` admits an amount
  only if `spent + held + amount <= limit`; `settle` releases the reservation and adds what was
  really spent. Each reservation is a lease with a deadline, so a replica that dies mid-request
  cannot hold budget forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

BUCKETS = 30
"""Buckets per window: the window is counted to within 1/30 of its length."""

EPSILON = 1e-9
"""Budget comparisons allow a nano-dollar of floating-point rounding."""


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """Admit `amount` into the window at `key` if the window then holds at most `limit`."""

    key: str
    amount: int
    limit: int
    window: float

    @property
    def width(self) -> float:
        """Seconds per bucket."""
        return self.window / BUCKETS


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of `admit`: all checks passed (and were counted), or none was counted.

    `blocked` is the index of the first check that failed; `retry_after` the seconds until it
    would pass; `used` what each window held before this admission; `buckets` where each amount
    went, for `adjust`.
    """

    allowed: bool
    blocked: int | None = None
    retry_after: float = 0.0
    used: tuple[float, ...] = ()
    buckets: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of `reserve`. `missing` means the budget is unknown to the backend: call again
    with `seed` (what was already spent this period, from the database)."""

    allowed: bool
    spent: float = 0.0
    held: float = 0.0
    missing: bool = False


@dataclass(frozen=True, slots=True)
class BudgetState:
    """A budget as the backend holds it now."""

    spent: float
    held: float


class StateBackend(Protocol):
    """State shared by the replicas (Redis), or held by this process alone."""

    name: str
    """"local" or "redis"."""

    async def start(self) -> None:
        """Connect (Redis) and start background work."""
        ...

    async def close(self) -> None:
        """Stop background work and disconnect."""
        ...

    async def admit(self, checks: Sequence[WindowCheck]) -> Admission:
        """Count every check's amount in its window, atomically, if all fit; else none."""
        ...

    async def adjust(self, check: WindowCheck, bucket: int, delta: int) -> None:
        """Add `delta` (may be negative) to the bucket an earlier admission used, e.g. real tokens
        minus the estimate. Ignored once the bucket has left the window."""
        ...

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
        """Hold `amount` of the budget at `key` under `lease`, atomically, if it fits."""
        ...

    async def settle(
        self, key: str, lease: str, spent: float, *, expire_at: float | None = None
    ) -> BudgetState | None:
        """Release `lease` and add `spent`. None if the budget is unknown (then nothing is added:
        the database holds the spend, and the next `reserve` seeds from it)."""
        ...

    async def budget(self, key: str) -> BudgetState | None:
        """The budget at `key`, if the backend knows it."""
        ...

    async def get(self, key: str) -> bytes | None:
        """A value set with `set`."""
        ...

    async def set(
        self, key: str, value: bytes, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        """Store `value` (for `ttl` seconds); with `only_new`, only if the key is absent.
        True if it was stored."""
        ...

    async def incr(self, key: str, amount: float = 1.0, *, ttl: float | None = None) -> float:
        """Add to a plain counter (created at 0, expiring `ttl` seconds after creation)."""
        ...

    async def publish(self, channel: str, message: str) -> None:
        """Tell every replica's subscribers of `channel` (this one's too)."""
        ...

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(message)` for every message on `channel`."""
        ...

    def status(self) -> dict[str, Any]:
        """What /health/ready shows: `ready`, `backend`, `shared`, and details."""
        ...


def floor_bucket(now: float, width: float) -> int:
    """The bucket holding time `now`."""
    return int(now // width)


def retry_after(
    buckets: Sequence[tuple[int, float]], need: float, check: WindowCheck, now: float
) -> float:
    """Seconds until enough of the oldest buckets leave the window to free `need`.

    Bucket b stops counting once `floor((t - window) / width) > b`, i.e. at
    `t = (b + 1) * width + window`. If even an empty window is too small, one whole window.
    """
    freed = 0.0
    for bucket, amount in sorted(buckets):
        freed += amount
        if freed >= need:
            return max(0.0, (bucket + 1) * check.width + check.window - now)
    return check.window
