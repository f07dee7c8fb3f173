"""Jobs in this process (the embedded default: SQLite, no worker processes).

Jobs are asyncio tasks: the same handlers, retries and backoff as the shared queue, but nothing
outlives the process. Handlers that must survive a restart keep their progress in the database
and have a periodic job find unfinished work again (the batch sweep does), which also runs once
right at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from llmdeck.config import JobsSettings
from llmdeck.jobs.base import Handler, Job, QueueCount, Registry, StalledJob
from llmdeck.jobs.periodic import Ticker

log = logging.getLogger("llmdeck.jobs")


class LocalJobs:
    """Jobs: an in-process queue of asyncio tasks."""

    backend = "local"
    shared = False

    def __init__(self, settings: JobsSettings) -> None:
        self.settings = settings
        self.registry = Registry()
        self._ids = itertools.count(1)
        self._waiting: set[str] = set()  # dedupe keys of jobs not started yet
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._started = asyncio.Event()
        self._ticker = Ticker(self.registry, self.enqueue)
        self._status: Counter[tuple[str, str]] = Counter()
        self._closing = False

    def register(self, kind: str, handler: Handler) -> None:
        """See `Jobs.register`."""
        self.registry.register(kind, handler)

    def every(self, kind: str, interval: float) -> None:
        """See `Jobs.every`."""
        self.registry.every(kind, interval)

    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        dedupe: str | None = None,
        lock: str | None = None,
    ) -> bool:
        """See `Jobs.enqueue`."""
        if self._closing:
            return False
        if dedupe is not None:
            if dedupe in self._waiting:
                return False
            self._waiting.add(dedupe)
        job = Job(kind, dict(payload or {}), str(next(self._ids)), 1)
        self._status[(kind, "todo")] += 1
        self._spawn(self._run(job, delay, dedupe, lock))
        return True

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, delay: float, dedupe: str | None, lock: str | None) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self._started.wait()
        assert self._slots is not None
        async with self._slots:
            if dedupe is not None:
                self._waiting.discard(dedupe)
            guard = self._locks.setdefault(lock, asyncio.Lock()) if lock else None
            async with guard or contextlib.nullcontext():
                self._move(job.kind, "todo", "doing")
                try:
                    await self.registry.handler(job.kind)(job)
                except asyncio.CancelledError:
                    self._move(job.kind, "doing", "cancelled")
                    raise
                except Exception:  # noqa: BLE001 - any failure is retried, then logged
                    self._failed(job, lock)
                    return
                self._move(job.kind, "doing", "succeeded")

    def _failed(self, job: Job, lock: str | None) -> None:
        if job.attempt >= self.settings.max_attempts or self._closing:
            self._move(job.kind, "doing", "failed")
            log.exception("job %s %s failed for good after %d tries", job.kind, job.id, job.attempt)
            return
        delay = self.settings.delay(job.attempt)
        log.warning(
            "job %s %s failed (try %d); again in %.1fs", job.kind, job.id, job.attempt, delay
        )
        self._move(job.kind, "doing", "todo")
        again = Job(job.kind, job.payload, job.id, job.attempt + 1)
        self._spawn(self._run(again, delay, None, lock))

    def _move(self, kind: str, before: str, after: str) -> None:
        self._status[(kind, before)] -= 1
        self._status[(kind, after)] += 1

    async def start(self, *, work: bool) -> None:
        """Start running jobs (always in this process: nothing else can take them)."""
        if not work:
            log.warning("jobs.in_server is off, but without PostgreSQL jobs run in-process")
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._started.set()
        self._ticker.start()

    async def close(self) -> None:
        """Stop the periodic jobs, give running jobs `drain_timeout`, cancel the rest."""
        self._closing = True
        await self._ticker.close()
        tasks = list(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.settings.drain_timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def counts(self) -> list[QueueCount]:
        """Jobs of this process by kind and status (finished ones since start)."""
        return [QueueCount(k, s, n) for (k, s), n in sorted(self._status.items()) if n > 0]

    async def stalled(self) -> list[StalledJob]:
        """None: a job here dies with its process, which is the only one that knew of it."""
        return []

    def status(self) -> dict[str, Any]:
        """Ready once started."""
        running = sum(n for (_, s), n in self._status.items() if s == "doing")
        waiting = sum(n for (_, s), n in self._status.items() if s == "todo")
        failed = sum(n for (_, s), n in self._status.items() if s == "failed")
        return {
            "ready": self._started.is_set(),
            "backend": "local",
            "shared": False,
            "running": running,
            "waiting": waiting,
            "failed": failed,
        }
