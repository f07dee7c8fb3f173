"""The jobs seam on both queues: handlers run, failures are retried with backoff, dedupe keys
and locks hold, periodic jobs tick; on PostgreSQL a job enqueued by one process runs in
another, and the job of a worker killed mid-run is taken back and run again (at least once)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llmdeck.config import JobsSettings
from llmdeck.jobs import Job, Jobs, LocalJobs
from llmdeck.store import open_store

FAST = JobsSettings(backoff=0.01, heartbeat=0.3, stalled_after=1.0, poll_interval=0.2)


def postgres_jobs(url: str, settings: JobsSettings = FAST) -> Jobs:
    from llmdeck.jobs.postgres import PostgresJobs

    return PostgresJobs(url, settings)


async def until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def _exercise(jobs: Jobs, enqueue_from: Jobs) -> None:
    tries: list[int] = []
    done: list[str] = []
    overlapping = 0
    inside = 0

    async def flaky(job: Job) -> None:
        tries.append(job.attempt)
        if job.attempt < 3:
            raise RuntimeError("not yet")
        done.append(str(job.payload["name"]))

    async def locked(job: Job) -> None:
        nonlocal inside, overlapping
        inside += 1
        overlapping = max(overlapping, inside)
        await asyncio.sleep(0.05)
        inside -= 1
        done.append("locked")

    for queue in {id(jobs): jobs, id(enqueue_from): enqueue_from}.values():
        queue.register("t.flaky", flaky)
        queue.register("t.locked", locked)
    await jobs.start(work=True)
    if enqueue_from is not jobs:
        await enqueue_from.start(work=False)
    try:
        assert await enqueue_from.enqueue("t.flaky", {"name": "a"})
        await until(lambda: "a" in done)
        assert tries == [1, 2, 3]  # two failures, retried, then done
        first = await enqueue_from.enqueue("t.flaky", {"name": "b"}, delay=1, dedupe="b")
        second = await enqueue_from.enqueue("t.flaky", {"name": "b"}, delay=1, dedupe="b")
        assert (first, second) == (True, False)  # one waiting job per dedupe key
        for _ in range(3):
            await enqueue_from.enqueue("t.locked", {}, lock="one-at-a-time")
        await until(lambda: done.count("locked") == 3 and "b" in done)
        assert overlapping == 1
        assert done.count("b") == 1
    finally:
        await jobs.close()
        if enqueue_from is not jobs:
            await enqueue_from.close()


def test_local_jobs_retry_dedupe_and_lock() -> None:
    jobs = LocalJobs(FAST)
    asyncio.run(_exercise(jobs, jobs))


def test_local_periodic_jobs_tick_from_the_start() -> None:
    async def main() -> int:
        jobs = LocalJobs(FAST)
        ticks: list[str] = []

        async def tick(job: Job) -> None:
            ticks.append(job.id)

        jobs.register("t.tick", tick)
        jobs.every("t.tick", 0.05)
        await jobs.start(work=True)
        await until(lambda: len(ticks) >= 3)
        await jobs.close()
        return len(ticks)

    assert asyncio.run(main()) >= 3


@pytest.mark.postgres
def test_postgres_jobs_run_in_the_working_process(postgres_url: str) -> None:
    open_store(postgres_url).close()  # the migrations create the queue's tables
    asyncio.run(_exercise(postgres_jobs(postgres_url), postgres_jobs(postgres_url)))


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from llmdeck.config import JobsSettings
    from llmdeck.jobs.postgres import PostgresJobs

    async def main():
        jobs = PostgresJobs(sys.argv[1], JobsSettings(heartbeat=0.3, stalled_after=1.0,
                                                      poll_interval=0.2))
        async def hang(job):
            print("started", flush=True)
            await asyncio.sleep(3600)
        jobs.register("t.slow", hang)
        await jobs.start(work=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


@pytest.mark.postgres
def test_the_job_of_a_killed_worker_runs_again(postgres_url: str, tmp_path: Path) -> None:
    open_store(postgres_url).close()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    doomed = subprocess.Popen(
        [sys.executable, str(script), postgres_url], stdout=subprocess.PIPE, env=os.environ.copy()
    )

    async def main() -> list[int]:
        attempts: list[int] = []

        async def finish(job: Job) -> None:
            attempts.append(job.attempt)

        client = postgres_jobs(postgres_url)
        await client.start(work=False)
        await client.enqueue("t.slow", {})
        await client.close()
        assert doomed.stdout is not None
        await asyncio.to_thread(doomed.stdout.readline)  # the doomed worker took the job
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        survivor = postgres_jobs(postgres_url)  # finds the silent worker's job, runs it again
        survivor.register("t.slow", finish)
        await survivor.start(work=True)
        try:
            await until(lambda: bool(attempts))
        finally:
            await survivor.close()
        return attempts

    try:
        assert asyncio.run(main()) == [2]  # the second delivery of the job
    finally:
        doomed.kill()
