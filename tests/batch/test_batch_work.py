"""The batch work queue on SQLite and PostgreSQL: workers claim disjoint lines, a line is
answered once even when its lease is taken over, finished lines are never claimed again, and
batches end with their files."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from llmdeck.config import Settings
from llmdeck.gateway import Gateway
from llmdeck.gateway.batch import BatchRunner, Work
from llmdeck.gateway.batch.work import Outcome
from llmdeck.jobs import LocalJobs
from llmdeck.observe import Recorder
from llmdeck.store import Store, open_store, tables


def seed(store: Store, lines: int, *, batch_id: str = "batch_1") -> None:
    """A validating batch over an input file of `lines` requests."""
    body = "\n".join(
        json.dumps(
            {
                "custom_id": f"r{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "chat", "messages": [{"role": "user", "content": str(i)}]},
            }
        )
        for i in range(lines)
    ).encode()
    now = time.time()

    def write(conn: Any) -> None:
        conn.execute(
            tables.files.insert().values(
                id=f"file-{batch_id}", owner="o", purpose="batch", filename="in.jsonl",
                bytes=len(body), created_at=now, content=body,
            )
        )  # fmt: skip
        conn.execute(
            tables.batches.insert().values(
                id=batch_id, owner="o", principal={"name": "o", "admin": True},
                endpoint="/v1/chat/completions", input_file_id=f"file-{batch_id}",
                completion_window="24h", status="validating", created_at=now,
                expires_at=now + 3600,
            )
        )  # fmt: skip

    store.write(write)


def ok(n: int) -> Outcome:
    return Outcome(200, {"answer": n}, request_id=f"trace-{n}", cost=0.001, input_tokens=1)


def test_workers_claim_disjoint_lines_and_answers_land_once(database_url: str) -> None:
    store = open_store(database_url)

    async def main() -> None:
        work = Work(store, lease=30)
        seed(store, 20)
        await work.ingest("batch_1", 100)
        await work.ingest("batch_1", 100)  # a second worker, or a retry: nothing doubles
        claims = await asyncio.gather(*(work.claim(f"w{i}", f"w{i}:1", 6) for i in range(4)))
        ids = [line.id for claim in claims for line in claim]
        assert len(ids) == len(set(ids)) == 20
        assert sorted(len(c) for c in claims)[-1] <= 6
        for claim in claims:
            for line in claim:
                assert await work.answer(line, ok(line.line))
                assert not await work.answer(line, ok(line.line))  # already answered
        assert await work.claim("w9", "w9:1", 50) == []
        await work.settle("batch_1", "in_progress")

    try:
        asyncio.run(main())
        batch = store.read(
            lambda c: c.execute(
                select(tables.batches).where(tables.batches.c.id == "batch_1")
            ).one()
        )
        assert batch.status == "completed" and batch.output_file_id and batch.error_file_id is None
        content = store.read(
            lambda c: c.execute(
                select(tables.files.c.content).where(tables.files.c.id == batch.output_file_id)
            ).scalar()
        )
        records = [json.loads(r) for r in bytes(content).splitlines()]
        assert [r["custom_id"] for r in records] == [f"r{i}" for i in range(20)]
        assert records[3]["response"] == {
            "status_code": 200,
            "request_id": "trace-4",
            "body": {"answer": 4},
        }
    finally:
        store.close()


def test_an_expired_lease_is_taken_over_and_the_old_claim_cannot_answer(database_url: str) -> None:
    store = open_store(database_url)

    async def main() -> None:
        work = Work(store, lease=0.2)
        seed(store, 3)
        await work.ingest("batch_1", 100)
        first = await work.claim("dead", "dead:1", 3)
        assert len(first) == 3 and await work.claim("live", "live:1", 3) == []
        await asyncio.sleep(0.3)  # the dead worker's leases run out
        second = await work.claim("live", "live:2", 3)
        assert [x.id for x in second] == [x.id for x in first]
        assert all(x.attempts == 2 for x in second)
        assert not await work.answer(first[0], ok(1))  # the stale claim lost
        assert await work.answer(second[0], ok(1))
        assert await work.retry_later(second[1], 60)
        assert [x.id for x in await work.claim("live", "live:3", 3)] == []  # not before 60 s
        await work.release("live")  # shutdown: the third line goes back, attempt uncounted
        back = await work.claim("other", "other:1", 3)
        assert [x.id for x in back] == [second[2].id] and back[0].attempts == 2

    try:
        asyncio.run(main())
    finally:
        store.close()


def test_runner_yields_to_interactive_traffic(tmp_path: Any) -> None:
    settings = Settings.model_validate(
        {"home": tmp_path, "batch": {"concurrency": 4, "min_concurrency": 1}}
    )
    store = open_store(settings.effective_database_url)
    try:
        gateway = Gateway(settings, Recorder(store))
        runner = BatchRunner(gateway, store, settings.batch, LocalJobs(settings.jobs))
        slots = []
        for busy in (0, 1, 3, 4, 10):
            gateway.interactive = busy
            slots.append(runner.slots())
        assert slots == [4, 3, 1, 1, 1]
        paused = BatchRunner(
            gateway,
            store,
            settings.batch.model_copy(update={"min_concurrency": 0}),
            LocalJobs(settings.jobs),
        )
        assert paused.slots() == 0
    finally:
        store.close()


@pytest.mark.parametrize("status", ["cancelling", "in_progress"])
def test_cancel_and_expiry_settle_pending_lines(database_url: str, status: str) -> None:
    store = open_store(database_url)

    async def main() -> None:
        work = Work(store, lease=30)
        seed(store, 4)
        await work.ingest("batch_1", 100)
        (running,) = await work.claim("w", "w:1", 1)
        changes: dict[str, Any] = {"status": status}
        if status == "in_progress":
            changes["expires_at"] = time.time() - 1  # past the completion window
        store.write(lambda c: c.execute(tables.batches.update().values(**changes)))
        await work.settle("batch_1", status)
        assert _status(store) == status  # one line still runs
        await work.answer(running, ok(0))
        await work.settle("batch_1", status)

    try:
        asyncio.run(main())
        assert _status(store) == ("cancelled" if status == "cancelling" else "expired")
        lines = store.read(lambda c: list(c.execute(select(tables.batch_lines.c.status))))
        left = "cancelled" if status == "cancelling" else "expired"
        assert sorted(r.status for r in lines) == sorted(["done", left, left, left])
    finally:
        store.close()


def _status(store: Store) -> str:
    return str(store.read(lambda c: c.execute(select(tables.batches.c.status)).scalar()))
