"""Jobs in PostgreSQL, through procrastinate: shared by every server and `llmdeck worker`.

procrastinate keeps each job as a row (`procrastinate_jobs`), hands it to one worker with
`FOR UPDATE SKIP LOCKED`, wakes workers with LISTEN/NOTIFY (polling as a fallback), retries a
failed job on our backoff, and records every worker's heartbeat. A job still marked running
whose worker stopped beating for `stalled_after` seconds (the process was killed, the machine
lost) is put back in the queue by any live worker: delivery is at least once. The queue's
tables live next to llmdeck's (migration `m007_jobs`), so a job and the data it works on are in
the same database, backed up together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job as QueuedJob
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from llmdeck.config import JobsSettings
from llmdeck.jobs.base import Handler, Job, QueueCount, Registry, StalledJob
from llmdeck.jobs.periodic import Ticker

log = logging.getLogger("llmdeck.jobs")

POOL_SIZE = 4
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


def libpq_url(url: str) -> str:
    """The libpq form of a SQLAlchemy-style PostgreSQL URL (no `+driver`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return "postgresql://" + rest if scheme.startswith(("postgres", "postgresql")) else url


class _Backoff(BaseRetryStrategy):
    """Retry on any exception, `settings.delay(attempt)` apart, up to `max_attempts` tries."""

    def __init__(self, settings: JobsSettings) -> None:
        self.settings = settings

    def get_retry_decision(
        self, *, exception: BaseException, job: QueuedJob
    ) -> RetryDecision | None:
        tried = job.attempts + 1
        if tried >= self.settings.max_attempts:
            return None
        return RetryDecision(retry_in={"seconds": round(self.settings.delay(tried))})


class PostgresJobs:
    """Jobs: procrastinate over the llmdeck database."""

    backend = "postgres"
    shared = True

    def __init__(self, url: str, settings: JobsSettings, *, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or f"{os.uname().nodename}:{os.getpid()}"
        self.registry = Registry()
        connector = PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=POOL_SIZE)
        self.app = App(connector=connector)
        self._retry = _Backoff(settings)
        self._ticker = Ticker(self.registry, self.enqueue)
        self._tasks: list[asyncio.Task[None]] = []
        self._open = False
        self._working = False
        self._closing = False
        self.recovered = 0

    def register(self, kind: str, handler: Handler) -> None:
        """See `Jobs.register`: also declares the procrastinate task named `kind`."""
        self.registry.register(kind, handler)

        async def run(context: JobContext, payload: dict[str, Any]) -> None:
            job = context.job
            await handler(Job(kind, payload, str(job.id), job.attempts + 1))

        self.app.task(name=kind, pass_context=True, retry=self._retry)(run)

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
        """See `Jobs.enqueue` (`dedupe` is procrastinate's queueing lock)."""
        options: dict[str, Any] = {"queueing_lock": dedupe, "lock": lock}
        if delay > 0:
            options["schedule_in"] = {"seconds": max(1, round(delay))}
        deferrer = self.app.configure_task(kind, **options)
        try:
            await deferrer.defer_async(payload=dict(payload or {}))
        except AlreadyEnqueued:
            return False
        return True

    async def start(self, *, work: bool) -> None:
        """Open the connection pool; with `work`, run a procrastinate worker here, take back
        the jobs of stalled workers, and enqueue the periodic jobs."""
        await self.app.open_async()
        self._open = True
        if not work:
            return
        self._working = True
        self._tasks = [
            asyncio.create_task(self._work(), name="llmdeck-jobs-worker"),
            asyncio.create_task(self._recover(), name="llmdeck-jobs-recover"),
        ]
        self._ticker.start()

    async def _work(self) -> None:
        """Run the worker; start it again if it stops on its own (e.g. the database restarted
        under its LISTEN connection)."""
        s = self.settings
        while not self._closing:
            try:
                await self.app.run_worker_async(
                    name=self.name,
                    concurrency=s.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=s.heartbeat,
                    stalled_worker_timeout=s.stalled_after,
                    fetch_job_polling_interval=s.poll_interval,
                    abort_job_polling_interval=max(s.poll_interval, 5.0),
                    shutdown_graceful_timeout=s.drain_timeout,
                    delete_jobs="successful",
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job worker stopped; starting again")
            await asyncio.sleep(s.heartbeat)

    async def _recover(self) -> None:
        """Put the jobs of workers that stopped beating back in the queue (at least once)."""
        while True:
            await asyncio.sleep(self.settings.heartbeat)
            try:
                stalled = await self.app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=self.settings.stalled_after
                )
                for job in stalled:
                    await self._retry_stalled(job)
            except Exception:
                log.warning("could not look for stalled jobs", exc_info=True)

    async def _retry_stalled(self, job: QueuedJob) -> None:
        try:
            await self.app.job_manager.retry_job(job)
        except Exception:  # another worker took it back first
            log.debug("stalled job %s already taken back", job.id, exc_info=True)
            return
        self.recovered += 1
        log.warning("job %s %s was running on a silent worker: queued again", job.task_name, job.id)

    async def close(self) -> None:
        """Stop the worker gracefully (running jobs get `drain_timeout`), close the pool."""
        self._closing = True
        await self._ticker.close()
        for task in reversed(self._tasks):  # the recovery loop first, then the worker
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._open:
            await self.app.close_async()
            self._open = False

    async def counts(self) -> list[QueueCount]:
        """Jobs by kind and status, from the queue's table (finished successful jobs are
        deleted, so `succeeded` stays small)."""
        rows = await self.app.job_manager.list_tasks_async()
        found = []
        for row in rows:
            for status in STATUSES:
                if row.get(status):
                    found.append(QueueCount(str(row["name"]), status, int(row[status])))
        return found

    async def stalled(self) -> list[StalledJob]:
        """Jobs marked running on workers silent for `stalled_after` seconds."""
        jobs = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.stalled_after
        )
        return [StalledJob(str(j.id), j.task_name, j.attempts + 1) for j in jobs]

    def status(self) -> dict[str, Any]:
        """Ready once connected."""
        return {
            "ready": self._open,
            "backend": "postgres",
            "shared": True,
            "working": self._working,
            "recovered": self.recovered,
        }
