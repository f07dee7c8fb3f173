"""The batch runner: claims lines from the database and runs them through the gateway in the
background, yielding to interactive traffic.

At most `concurrency` lines run at once, one fewer for each interactive request in flight, but
never fewer than `min_concurrency` (0 pauses batches entirely while the gateway is busy). The
runner only claims lines it can start now, so other workers (another replica, or a separate
worker process running this same class) share the queue. On shutdown it stops claiming, waits
up to `drain_timeout` for the lines it runs, and hands back any still unanswered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from llmdeck.config import BatchSettings
from llmdeck.gateway.batch.batches import principal_from
from llmdeck.gateway.batch.execute import execute
from llmdeck.gateway.batch.work import Claimed, Work
from llmdeck.gateway.call import Principal
from llmdeck.store import Store, tables

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class BatchRunner:
    """Runs batches for one process. `wake()` when a batch is created or cancelled."""

    def __init__(self, gateway: Gateway, store: Store, settings: BatchSettings) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.worker = f"w-{os.getpid()}-{os.urandom(4).hex()}"
        self.work = Work(store, settings.lease)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._owners: dict[str, tuple[Principal, str]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._claims = 0
        self._renewed = 0.0
        self._looked = 0.0

    def slots(self) -> int:
        """How many lines may run now, given the interactive requests in flight."""
        busy = max(0, self.gateway.interactive)
        return max(self.settings.min_concurrency, self.settings.concurrency - busy)

    @property
    def running(self) -> int:
        """Lines running now."""
        return len(self._running)

    def start(self) -> None:
        """Start the background loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Look for work now (a batch was created or cancelled)."""
        self._looked = 0.0
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming, let running lines finish (up to `drain_timeout`), hand back the rest."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._tick()
            except Exception:  # a database hiccup must not end the runner
                log.exception("batch runner tick failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()
        await self._drain()

    async def _tick(self) -> None:
        now = time.monotonic()
        if now - self._looked >= self.settings.poll_interval:
            self._looked = now
            await self._look_after_batches()
        free = self.slots() - len(self._running)
        if free > 0:
            self._claims += 1
            claimed = await self.work.claim(self.worker, f"{self.worker}:{self._claims}", free)
            for line in claimed:
                self._running[line.id] = asyncio.create_task(self._line(line))
        if self._running and now - self._renewed >= self.settings.lease / 3:
            self._renewed = now
            await self.work.renew(self.worker)

    async def _look_after_batches(self) -> None:
        """Start new batches; end finished, cancelled and expired ones."""
        found = await self.work.statuses()
        for batch_id in found.get("validating", []):
            await self.work.ingest(batch_id, self.settings.max_lines)
        for status in ("in_progress", "cancelling"):
            for batch_id in found.get(status, []):
                await self.work.settle(batch_id, status)

    async def _line(self, line: Claimed) -> None:
        try:
            principal, endpoint = await self._owner(line.batch_id)
            outcome = await execute(self.gateway, principal, endpoint, line)
            if outcome.retryable and line.attempts < self.settings.max_attempts:
                delay = outcome.retry_after or min(MAX_BACKOFF, 2.0**line.attempts)
                await self.work.retry_later(line, delay)
            else:
                await self.work.answer(line, outcome)
        except Exception:  # the lease runs out and the line is tried again
            log.exception("batch %s line %d could not be recorded", line.batch_id, line.line)
        finally:
            self._running.pop(line.id, None)
            self._wake.set()

    async def _owner(self, batch_id: str) -> tuple[Principal, str]:
        known = self._owners.get(batch_id)
        if known is None:
            batches = tables.batches
            query = select(batches.c.principal, batches.c.endpoint).where(batches.c.id == batch_id)
            row: Any = await self.store.aread(lambda conn: conn.execute(query).one())
            known = self._owners[batch_id] = (principal_from(row.principal or {}), row.endpoint)
        return known

    async def _drain(self) -> None:
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=self.settings.drain_timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self.work.release(self.worker)
        except Exception:  # leases expire anyway
            log.exception("could not hand back batch lines")
