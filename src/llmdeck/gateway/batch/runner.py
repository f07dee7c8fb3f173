"""The batch runner: the handlers of the batch jobs, which claim lines from the database and run
them through the gateway, yielding to interactive traffic.

Jobs (through `llmdeck.jobs`, so in-process by default and in `llmdeck worker` processes with
PostgreSQL):

- `batch.start {batch_id}`: read the input file into lines (once: the batch row is locked and
  must still be `validating`), then enqueue `split` (at most) `batch.run` jobs.
- `batch.run {batch_id}`: claim lines of the batch and run them, up to `concurrency` at once
  (one fewer per interactive request in flight in this process, never fewer than
  `min_concurrency`), until none is left to claim; settle the batch; if lines remain that
  cannot be claimed yet (a retry's backoff, another worker's lease), enqueue one more
  `batch.run` for when they can.
- `batch.sweep` (every `poll_interval`): start batches still `validating` whose start job was
  lost, end finished, cancelled and expired ones, and enqueue a `batch.run` for batches with
  lines to run and nobody on them (after a crash, or a restart of the in-process queue).

Every handler is idempotent: a line is answered only under its claim, so a job delivered twice
runs no line twice; a duplicated job finds nothing to claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from llmdeck.config import BatchSettings
from llmdeck.gateway.batch.batches import principal_from
from llmdeck.gateway.batch.execute import execute
from llmdeck.gateway.batch.work import Claimed, Work
from llmdeck.gateway.call import Principal
from llmdeck.jobs import Job, Jobs
from llmdeck.store import Store, tables

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
START, RUN, SWEEP = "batch.start", "batch.run", "batch.sweep"


class BatchRunner:
    """The batch jobs of one process; `register()` them on the process's job queue."""

    def __init__(self, gateway: Gateway, store: Store, settings: BatchSettings, jobs: Jobs) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.jobs = jobs
        self.worker = f"w-{os.getpid()}-{os.urandom(4).hex()}"
        self.work = Work(store, settings.lease)
        self._lines: dict[int, asyncio.Task[None]] = {}
        self._owners: dict[str, tuple[Principal, str]] = {}
        self._stopping = False
        self._claims = 0
        self._renewer: asyncio.Task[None] | None = None

    def register(self) -> None:
        """Register the batch handlers and the periodic sweep."""
        self.jobs.register(START, self._start)
        self.jobs.register(RUN, self._run)
        self.jobs.register(SWEEP, self._sweep)
        self.jobs.every(SWEEP, self.settings.poll_interval)

    def slots(self) -> int:
        """How many lines one job may run now, given the interactive requests in flight."""
        busy = max(0, self.gateway.interactive)
        return max(self.settings.min_concurrency, self.settings.concurrency - busy)

    @property
    def running(self) -> int:
        """Lines running in this process now."""
        return len(self._lines)

    async def submitted(self, batch_id: str) -> None:
        """A batch was created: start it."""
        await self.jobs.enqueue(START, {"batch_id": batch_id}, dedupe=f"{START}:{batch_id}")

    async def cancelled(self, batch_id: str) -> None:
        """A batch was asked to stop: settle it now (lines running elsewhere settle it again
        when they end)."""
        await self.jobs.enqueue(RUN, {"batch_id": batch_id})

    async def stop(self) -> None:
        """Stop claiming: running jobs let their lines finish (up to `drain_timeout`), hand back
        the rest and leave a job behind for whoever runs next."""
        self._stopping = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    # handlers

    async def _start(self, job: Job) -> None:
        batch_id = str(job.payload["batch_id"])
        await self.work.ingest(batch_id, self.settings.max_lines)
        lines = await self.work.open_lines(batch_id)
        if not lines:
            await self._settle(batch_id)
            return
        split = min(self.settings.split, math.ceil(lines / self.settings.lines_per_job))
        for _ in range(split):
            await self.jobs.enqueue(RUN, {"batch_id": batch_id})

    async def _run(self, job: Job) -> None:
        batch_id = str(job.payload["batch_id"])
        self._keep_leases()
        mine: dict[asyncio.Task[None], Claimed] = {}
        try:
            while not self._stopping:
                free = self.slots() - len(mine)
                if free > 0:
                    for line in await self._claim(batch_id, free):
                        mine[self._spawn(line)] = line
                if not mine:
                    break
                done, _ = await asyncio.wait(mine, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del mine[task]
        except asyncio.CancelledError:
            await self._drain(mine, 0.0)
            raise
        await self._drain(mine, self.settings.drain_timeout)  # lines left only when stopping
        await self._settle(batch_id)
        await self._follow_up(batch_id)

    async def _sweep(self, job: Job) -> None:
        found = await self.work.statuses()
        for batch_id in found.get("validating", []):
            await self.submitted(batch_id)
        for status in ("in_progress", "cancelling"):
            for batch_id in found.get(status, []):
                await self.work.settle(batch_id, status)
        for batch_id in await self.work.unattended():
            await self._enqueue_run(batch_id, 0.0)

    # parts

    async def _claim(self, batch_id: str, free: int) -> list[Claimed]:
        self._claims += 1
        token = f"{self.worker}:{self._claims}"
        return await self.work.claim(self.worker, token, free, batch_id=batch_id)

    def _spawn(self, line: Claimed) -> asyncio.Task[None]:
        task = asyncio.create_task(self._line(line))
        self._lines[line.id] = task
        task.add_done_callback(lambda _: self._lines.pop(line.id, None))
        return task

    async def _drain(self, mine: dict[asyncio.Task[None], Claimed], timeout: float) -> None:
        """Let this job's lines finish (up to `timeout`), cancel the rest and hand them back."""
        if not mine:
            return
        late: set[asyncio.Task[None]] = set(mine)
        if timeout > 0:
            _, late = await asyncio.wait(mine, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            try:
                await self.work.release(self.worker, [mine[task] for task in late])
            except Exception:  # leases expire anyway
                log.exception("could not hand back batch lines")

    async def _settle(self, batch_id: str) -> None:
        status = await self.store.aread(
            lambda conn: conn.execute(
                select(tables.batches.c.status).where(tables.batches.c.id == batch_id)
            ).scalar()
        )
        if status in ("in_progress", "cancelling"):
            await self.work.settle(batch_id, status)

    async def _follow_up(self, batch_id: str) -> None:
        """One more run job for lines that cannot be claimed yet (or at once, when stopping:
        another process takes it)."""
        wait = await self.work.next_open(batch_id)
        if wait is not None:
            await self._enqueue_run(batch_id, 0.0 if self._stopping else wait + 0.05)

    async def _enqueue_run(self, batch_id: str, delay: float) -> None:
        await self.jobs.enqueue(
            RUN, {"batch_id": batch_id}, delay=delay, dedupe=f"{RUN}:{batch_id}:next"
        )

    def _keep_leases(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="llmdeck-batch-leases")

    async def _renew(self) -> None:
        """Extend the leases of this process's running lines every third of a lease."""
        while True:
            await asyncio.sleep(self.settings.lease / 3)
            if not self._lines:
                continue
            try:
                await self.work.renew(self.worker)
            except Exception:  # a database hiccup: the next renewal may still be in time
                log.warning("could not renew batch leases", exc_info=True)

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

    async def _owner(self, batch_id: str) -> tuple[Principal, str]:
        known = self._owners.get(batch_id)
        if known is None:
            batches = tables.batches
            query = select(batches.c.principal, batches.c.endpoint).where(batches.c.id == batch_id)
            row: Any = await self.store.aread(lambda conn: conn.execute(query).one())
            known = self._owners[batch_id] = (principal_from(row.principal or {}), row.endpoint)
        return known
