"""The batch work queue in the database: claiming lines, recording their answers, and moving
batches through their life, safely from several workers at once.

A worker claims lines with one UPDATE over a sub-select (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so workers never wait on each other's rows; SQLite's single writer does the same),
stamping them with a claim token and a lease. The answer is recorded only while the claim still
holds (`claim = token AND status = 'running'`), so a line is answered once even if its lease ran
out and another worker took it. A worker that dies leaves leases that expire; its lines are then
claimed again, and lines already answered are never run again.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, insert, or_, select, update

from llmdeck.gateway.batch.batches import WINDOWS
from llmdeck.gateway.batch.files import file_row
from llmdeck.gateway.batch.ingest import InputFileError, parse_input
from llmdeck.store import Store, tables

_B = tables.batches
_L = tables.batch_lines
_F = tables.files
OPEN_LINES = ("pending", "running")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A line this worker holds: what to run, and the token that proves the claim."""

    id: int
    batch_id: str
    line: int
    custom_id: str
    body: dict[str, Any]
    attempts: int
    claim: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one request: the HTTP status and body the caller would have had."""

    status_code: int
    body: dict[str, Any]
    request_id: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    cost: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class Work:
    """Claims, answers and batch transitions, each one transaction."""

    def __init__(self, store: Store, lease: float) -> None:
        self.store = store
        self.lease = lease

    async def claim(
        self, worker: str, token: str, limit: int, *, batch_id: str | None = None
    ) -> list[Claimed]:
        """Up to `limit` runnable lines of active batches (or of `batch_id`), oldest first."""
        now = time.time()

        def run(conn: Connection) -> list[Claimed]:
            active = select(_B.c.id).where(_B.c.status == "in_progress", _B.c.expires_at > now)
            if batch_id is not None:
                active = active.where(_B.c.id == batch_id)
            runnable = or_(
                and_(
                    _L.c.status == "pending",
                    or_(_L.c.not_before.is_(None), _L.c.not_before <= now),
                ),
                and_(_L.c.status == "running", _L.c.lease_until < now),
            )
            chosen = (
                select(_L.c.id)
                .where(_L.c.batch_id.in_(active), runnable)
                .order_by(_L.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            conn.execute(
                update(_L)
                .where(_L.c.id.in_(chosen.scalar_subquery()))
                .values(
                    status="running",
                    worker=worker,
                    claim=token,
                    lease_until=now + self.lease,
                    attempts=_L.c.attempts + 1,
                )
            )
            rows = conn.execute(
                select(_L).where(_L.c.claim == token, _L.c.status == "running").order_by(_L.c.id)
            )
            return [_claimed(r._mapping) for r in rows]

        return await self.store.awrite(run)

    async def answer(self, line: Claimed, outcome: Outcome) -> bool:
        """Record the answer while the claim holds; False if another worker has the line."""
        values = {
            "status": "done" if 200 <= outcome.status_code < 300 else "failed",
            "response": {
                "status_code": outcome.status_code,
                "request_id": outcome.request_id,
                "body": outcome.body,
            },
            "cost": outcome.cost,
            "input_tokens": outcome.input_tokens,
            "output_tokens": outcome.output_tokens,
            "finished_at": time.time(),
            "lease_until": None,
        }
        return await self._while_claimed(line, values)

    async def retry_later(self, line: Claimed, delay: float) -> bool:
        """Give the line back to run again after `delay` seconds."""
        values = {
            "status": "pending",
            "worker": None,
            "claim": None,
            "lease_until": None,
            "not_before": time.time() + delay,
        }
        return await self._while_claimed(line, values)

    async def _while_claimed(self, line: Claimed, values: dict[str, Any]) -> bool:
        statement = (
            update(_L)
            .where(_L.c.id == line.id, _L.c.claim == line.claim, _L.c.status == "running")
            .values(**values)
        )
        result = await self.store.awrite(lambda conn: conn.execute(statement))
        return bool(result.rowcount)

    async def renew(self, worker: str) -> None:
        """Extend the leases of every line this worker is running."""
        statement = (
            update(_L)
            .where(_L.c.worker == worker, _L.c.status == "running")
            .values(lease_until=time.time() + self.lease)
        )
        await self.store.awrite(lambda conn: conn.execute(statement))

    async def release(self, worker: str, lines: list[Claimed] | None = None) -> None:
        """Hand back (unanswered, attempt not counted) every line this worker still holds, or
        only `lines`."""
        held = [_L.c.worker == worker, _L.c.status == "running"]
        if lines is not None:
            held.append(_L.c.claim.in_({line.claim for line in lines}))
            held.append(_L.c.id.in_([line.id for line in lines]))
        statement = (
            update(_L)
            .where(*held)
            .values(
                status="pending",
                worker=None,
                claim=None,
                lease_until=None,
                attempts=_L.c.attempts - 1,
            )
        )
        await self.store.awrite(lambda conn: conn.execute(statement))

    async def open_lines(self, batch_id: str) -> int:
        """Lines of the batch still to answer."""
        query = select(func.count()).where(_L.c.batch_id == batch_id, _L.c.status.in_(OPEN_LINES))
        found: int | None = await self.store.aread(lambda conn: conn.execute(query).scalar())
        return int(found or 0)

    async def next_open(self, batch_id: str) -> float | None:
        """Seconds until a line of the `in_progress` batch may be claimed (0: now), or None when
        it has no open line (or is not in progress)."""
        now = time.time()
        ready = case(
            (_L.c.status == "running", _L.c.lease_until),
            else_=func.coalesce(_L.c.not_before, 0.0),
        )
        query = (
            select(func.min(ready))
            .select_from(_L.join(_B, _B.c.id == _L.c.batch_id))
            .where(
                _L.c.batch_id == batch_id,
                _L.c.status.in_(OPEN_LINES),
                _B.c.status == "in_progress",
            )
        )
        earliest = await self.store.aread(lambda conn: conn.execute(query).scalar())
        return None if earliest is None else max(0.0, float(earliest) - now)

    async def unattended(self) -> list[str]:
        """`in_progress` batches with lines to claim now and none held under a live lease: no
        worker is on them (their job was lost, or the in-process queue restarted)."""
        now = time.time()
        claimable = or_(
            and_(
                _L.c.status == "pending",
                or_(_L.c.not_before.is_(None), _L.c.not_before <= now),
            ),
            and_(_L.c.status == "running", _L.c.lease_until < now),
        )
        held = select(_L.c.id).where(
            _L.c.batch_id == _B.c.id, _L.c.status == "running", _L.c.lease_until >= now
        )
        waiting = select(_L.c.id).where(_L.c.batch_id == _B.c.id, claimable)
        query = select(_B.c.id).where(
            _B.c.status == "in_progress", waiting.exists(), ~held.exists()
        )
        return await self.store.aread(lambda conn: list(conn.execute(query).scalars()))

    async def statuses(self) -> dict[str, list[str]]:
        """Ids of the batches that need attention, by status."""

        def read(conn: Connection) -> dict[str, list[str]]:
            query = select(_B.c.id, _B.c.status).where(
                _B.c.status.in_(["validating", "in_progress", "cancelling"])
            )
            found: dict[str, list[str]] = {}
            for batch_id, status in conn.execute(query.order_by(_B.c.created_at)):
                found.setdefault(status, []).append(batch_id)
            return found

        return await self.store.aread(read)

    async def ingest(self, batch_id: str, max_lines: int) -> None:
        """Read a `validating` batch's input file into lines, and start it (or fail it)."""
        now = time.time()

        def run(conn: Connection) -> None:
            # the row lock makes a second ingest (a retried or duplicated job) wait, then skip
            batch = conn.execute(select(_B).where(_B.c.id == batch_id).with_for_update()).first()
            if batch is None or batch.status != "validating":
                return
            content = conn.execute(
                select(_F.c.content).where(_F.c.id == batch.input_file_id)
            ).scalar()
            try:
                if content is None:
                    raise InputFileError("missing_file", "the input file was deleted")
                lines = parse_input(bytes(content), batch.endpoint, max_lines)
            except InputFileError as exc:
                conn.execute(
                    update(_B)
                    .where(_B.c.id == batch_id)
                    .values(status="failed", failed_at=now, errors=[exc.as_dict()])
                )
                return
            rows = [_line_row(batch_id, parsed) for parsed in lines]
            for start in range(0, len(rows), 1000):
                conn.execute(insert(_L), rows[start : start + 1000])
            window = WINDOWS.get(batch.completion_window, WINDOWS["24h"])
            expires = batch.expires_at or batch.created_at + window
            conn.execute(
                update(_B)
                .where(_B.c.id == batch_id)
                .values(status="in_progress", in_progress_at=now, expires_at=expires)
            )

        await self.store.awrite(run)

    async def settle(self, batch_id: str, status: str) -> None:
        """Move an `in_progress`, `cancelling` (or expired) batch on when its lines allow:
        cancel or expire its pending lines, and once none runs, write its files and end it."""
        now = time.time()

        def run(conn: Connection) -> None:
            batch = conn.execute(select(_B).where(_B.c.id == batch_id).with_for_update()).first()
            if batch is None or batch.status != status:
                return
            deadline = batch.expires_at
            expired = status == "in_progress" and deadline is not None and deadline <= now
            if status == "cancelling" or expired:
                conn.execute(
                    update(_L)
                    .where(_L.c.batch_id == batch_id, _L.c.status == "pending")
                    .values(status="cancelled" if status == "cancelling" else "expired")
                )
            open_lines = conn.execute(
                select(func.count()).where(_L.c.batch_id == batch_id, _L.c.status.in_(OPEN_LINES))
            ).scalar()
            if open_lines:
                return
            final = "cancelled" if status == "cancelling" else "expired" if expired else "completed"
            _finish(conn, batch._mapping, final, now)

        await self.store.awrite(run)


def _finish(conn: Connection, batch: Any, final: str, now: float) -> None:
    """Write the output and error files and end the batch, in the caller's transaction."""
    output: list[bytes] = []
    errors: list[bytes] = []
    query = select(_L).where(_L.c.batch_id == batch["id"]).order_by(_L.c.line)
    for row in conn.execute(query):
        record = output_record(batch["id"], row._mapping)
        if record is None:
            continue
        ok = row._mapping["status"] == "done"
        (output if ok else errors).append(orjson.dumps(record))
    values: dict[str, Any] = {"status": final, f"{final}_at": now}
    if final == "completed":
        values["finalizing_at"] = now
    for kind, records, column in (
        ("output", output, "output_file_id"),
        ("errors", errors, "error_file_id"),
    ):
        if records:
            content = b"\n".join(records) + b"\n"
            name = f"{batch['id']}_{kind}.jsonl"
            new_file = file_row(batch["owner"], "batch_output", name, content)
            conn.execute(_F.insert().values(**new_file))
            values[column] = new_file["id"]
    conn.execute(update(_B).where(_B.c.id == batch["id"]).values(**values))


def output_record(batch_id: str, line: Any) -> dict[str, Any] | None:
    """The OpenAI output-file record of a finished line (None for cancelled lines)."""
    status = line["status"]
    record: dict[str, Any] = {
        "id": request_id(batch_id, line["line"]),
        "custom_id": line["custom_id"],
        "response": None,
        "error": None,
    }
    if status in ("done", "failed"):
        record["response"] = line["response"]
    elif status == "invalid":
        record["error"] = line["error"]
    elif status == "expired":
        message = "the batch expired before this request ran"
        record["error"] = {"code": "batch_expired", "message": message}
    else:
        return None
    return record


def request_id(batch_id: str, line: int) -> str:
    """The stable id of one request of a batch: `batch_req_` and 24 hex digits."""
    digest = hashlib.blake2b(f"{batch_id}:{line}".encode(), digest_size=12).hexdigest()
    return f"batch_req_{digest}"


def _line_row(batch_id: str, parsed: Any) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "line": parsed.line,
        "custom_id": parsed.custom_id,
        "status": "invalid" if parsed.error else "pending",
        "body": parsed.body,
        "error": parsed.error,
        "response": None,
        "worker": None,
        "claim": None,
        "lease_until": None,
        "not_before": None,
        "attempts": 0,
        "cost": None,
        "input_tokens": None,
        "output_tokens": None,
        "finished_at": None,
    }


def _claimed(row: Any) -> Claimed:
    return Claimed(
        id=row["id"],
        batch_id=row["batch_id"],
        line=row["line"],
        custom_id=row["custom_id"] or "",
        body=row["body"] or {},
        attempts=row["attempts"],
        claim=row["claim"],
    )
