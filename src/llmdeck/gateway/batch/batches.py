"""Batches in the database: the batch rows and their shapes (the OpenAI batch object).

Status moves validating -> in_progress -> finalizing -> completed, or to failed (unreadable
input), expired (past the completion window), cancelling -> cancelled. Every move is a
compare-and-set on the status, so several workers can drive the same batches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select, tuple_, update

from llmdeck.errors import NotFound
from llmdeck.gateway.call import Principal
from llmdeck.store import Store, tables

_B = tables.batches
_L = tables.batch_lines
WINDOWS = {"24h": 24 * 3600.0}
FAILED_LINES = ("failed", "invalid", "expired")
TIMES = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


@dataclass(frozen=True, slots=True)
class Counts:
    """`request_counts`, plus the usage and cost of the lines answered."""

    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


def new_batch_id() -> str:
    """A new batch id, `batch_` and 24 hex digits."""
    return f"batch_{os.urandom(12).hex()}"


def principal_json(principal: Principal) -> dict[str, Any]:
    """What a batch keeps of its owner, to run its lines as them later."""
    models = sorted(principal.models) if principal.models is not None else None
    return {
        "key_id": principal.key_id,
        "name": principal.name,
        "admin": principal.admin,
        "team": principal.team,
        "models": models,
        "metadata": principal.metadata,
    }


def principal_from(data: dict[str, Any]) -> Principal:
    """The inverse of `principal_json`."""
    models = data.get("models")
    return Principal(
        key_id=data.get("key_id"),
        name=data.get("name") or "batch",
        admin=bool(data.get("admin")),
        team=data.get("team"),
        models=frozenset(models) if models is not None else None,
        metadata=data.get("metadata") or {},
    )


def owner_of(principal: Principal) -> str:
    """The owner string files and batches are filed under."""
    return principal.key_id or principal.name


def batch_object(row: Any, counts: Counts) -> dict[str, Any]:
    """The OpenAI batch object for a row and its line counts."""
    body: dict[str, Any] = {
        "id": row["id"],
        "object": "batch",
        "endpoint": row["endpoint"],
        "errors": {"object": "list", "data": row["errors"]} if row["errors"] else None,
        "input_file_id": row["input_file_id"],
        "completion_window": row["completion_window"],
        "status": row["status"],
        "output_file_id": row["output_file_id"],
        "error_file_id": row["error_file_id"],
        "request_counts": {
            "total": counts.total,
            "completed": counts.completed,
            "failed": counts.failed,
        },
        "usage": {
            "input_tokens": counts.input_tokens,
            "output_tokens": counts.output_tokens,
            "total_tokens": counts.input_tokens + counts.output_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
        "cost_usd": round(counts.cost, 8),
        "metadata": row["metadata"],
    }
    for name in TIMES:
        value = row[name]
        body[name] = int(value) if value is not None else None
    return body


class Batches:
    """Reading and moving batch rows."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, row: dict[str, Any]) -> dict[str, Any]:
        """Insert a new batch (status `validating`); its OpenAI object."""
        full = {column.name: None for column in _B.columns} | row
        await self.store.awrite(lambda conn: conn.execute(_B.insert().values(**full)))
        return batch_object(full, Counts())

    async def get(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        """The batch object (NotFound unless `owner` owns it; None: anyone's)."""

        def read(conn: Connection) -> dict[str, Any] | None:
            query = select(_B).where(_B.c.id == batch_id)
            if owner is not None:
                query = query.where(_B.c.owner == owner)
            row = conn.execute(query).first()
            if row is None:
                return None
            return batch_object(row._mapping, counts(conn, [batch_id])[batch_id])

        found = await self.store.aread(read)
        if found is None:
            raise NotFound(f"no batch {batch_id!r}", param="batch_id", code="batch_not_found")
        return found

    async def list(
        self, owner: str | None, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of batches, newest first; and whether more follow."""

        def read(conn: Connection) -> tuple[list[dict[str, Any]], bool]:
            query = select(_B)
            if owner is not None:
                query = query.where(_B.c.owner == owner)
            if after is not None:
                anchor = conn.execute(select(_B.c.created_at).where(_B.c.id == after)).first()
                if anchor is None:
                    raise NotFound(f"no batch {after!r}", param="after", code="batch_not_found")
                query = query.where(tuple_(_B.c.created_at, _B.c.id) < (anchor[0], after))
            query = query.order_by(_B.c.created_at.desc(), _B.c.id.desc()).limit(limit + 1)
            rows = [r._mapping for r in conn.execute(query)]
            found = counts(conn, [r["id"] for r in rows[:limit]])
            return [batch_object(r, found[r["id"]]) for r in rows[:limit]], len(rows) > limit

        return await self.store.aread(read)

    async def cancel(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        """Ask a batch to stop: `cancelling` until its running lines end."""
        await self.get(batch_id, owner)
        now = time.time()
        statement = (
            update(_B)
            .where(_B.c.id == batch_id, _B.c.status.in_(["validating", "in_progress"]))
            .values(status="cancelling", cancelling_at=now)
        )
        await self.store.awrite(lambda conn: conn.execute(statement))
        return await self.get(batch_id, owner)


def counts(conn: Connection, batch_ids: list[str]) -> dict[str, Counts]:
    """Line counts, usage and cost per batch."""
    found = {batch_id: Counts() for batch_id in batch_ids}
    if not batch_ids:
        return found
    query = (
        select(
            _L.c.batch_id,
            func.count(),
            func.sum(case((_L.c.status == "done", 1), else_=0)),
            func.sum(case((_L.c.status.in_(FAILED_LINES), 1), else_=0)),
            func.coalesce(func.sum(_L.c.input_tokens), 0),
            func.coalesce(func.sum(_L.c.output_tokens), 0),
            func.coalesce(func.sum(_L.c.cost), 0.0),
        )
        .where(_L.c.batch_id.in_(batch_ids))
        .group_by(_L.c.batch_id)
    )
    for batch_id, total, done, failed, tokens_in, tokens_out, cost in conn.execute(query):
        found[batch_id] = Counts(
            int(total), int(done or 0), int(failed or 0), int(tokens_in), int(tokens_out), cost
        )
    return found
