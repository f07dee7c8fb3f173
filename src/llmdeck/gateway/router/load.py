"""What this replica knows of each deployment's load: requests in flight (bounded by
`max_parallel`, with a bounded wait), and moving averages of latency and time to first token."""

from __future__ import annotations

import asyncio
import time
from collections import deque

ALPHA = 0.25  # weight of the newest sample in the moving averages
STALE_AFTER = 60.0  # seconds after which an average is no longer trusted (the deployment is
# tried again, so one slow answer does not exile it for good)


class MovingAverage:
    """An exponentially weighted moving average that knows when it was last fed."""

    __slots__ = ("value", "samples", "updated")

    def __init__(self) -> None:
        self.value = 0.0
        self.samples = 0
        self.updated = 0.0

    def add(self, sample: float, now: float) -> None:
        """Take in a sample."""
        self.value = sample if not self.samples else self.value + ALPHA * (sample - self.value)
        self.samples += 1
        self.updated = now

    def current(self, now: float) -> float | None:
        """The average, or None if never fed or stale."""
        if not self.samples or now - self.updated > STALE_AFTER:
            return None
        return self.value


class Load:
    """One deployment's load on this replica. `acquire`/`release` bracket every attempt."""

    __slots__ = ("limit", "in_flight", "latency", "ttft", "requests", "failures", "_waiters")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0
        self.latency = MovingAverage()
        self.ttft = MovingAverage()
        self.requests = 0
        self.failures = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def full(self) -> bool:
        """Whether `max_parallel` requests are in flight."""
        return self.limit is not None and self.in_flight >= self.limit

    def try_acquire(self) -> bool:
        """Take a slot if one is free now."""
        if self.full:
            return False
        self.in_flight += 1
        return True

    async def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting at most `timeout` seconds for one; False if none came."""
        if self.try_acquire():
            return True
        if timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        handed = False
        try:
            async with asyncio.timeout(timeout):
                await waiter
            handed = True  # the releaser handed its slot over: in_flight is unchanged
        except TimeoutError:
            handed = waiter.done() and not waiter.cancelled()
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return handed

    def release(self) -> None:
        """Give a slot back, handing it straight to the longest waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def observe(self, *, ok: bool, latency: float | None = None, ttft: float | None = None) -> None:
        """Count an attempt and feed the moving averages."""
        now = time.monotonic()
        self.requests += 1
        if not ok:
            self.failures += 1
        if latency is not None:
            self.latency.add(latency, now)
        if ttft is not None:
            self.ttft.add(ttft, now)
