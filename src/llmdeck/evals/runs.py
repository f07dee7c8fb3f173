"""Experiment runs and their per-item results in the store. Results are written as each item
completes, so a run that was interrupted resumes where it stopped."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, update

from llmdeck.errors import NotFound
from llmdeck.store import Store
from llmdeck.store.tables import eval_results as results_table
from llmdeck.store.tables import eval_runs as runs_table


def new_run_id() -> str:
    """A short random run id."""
    return os.urandom(6).hex()


@dataclass
class Result:
    """One item's outcome in a run."""

    item_id: str
    position: int
    input: Any
    expected: Any
    output: str | None
    scores: dict[str, dict[str, Any]]
    latency_ms: float | None = None
    cost: float | None = None
    trace_id: str | None = None
    error: str | None = None

    def value(self, evaluator: str) -> float | None:
        """The score of one evaluator (None: unmeasured or missing)."""
        score = self.scores.get(evaluator) or {}
        value = score.get("value")
        return float(value) if isinstance(value, int | float) else None


@dataclass
class Aggregate:
    """An evaluator's mean over the measured items of a run, their standard deviation, and
    (for evaluators taken several times per item, `repeats`) the mean spread of the takes."""

    mean: float | None
    measured: int
    unmeasured: int
    spread: float | None = None
    repeat_spread: float | None = None
    why_unmeasured: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"mean": self.mean, "measured": self.measured, "unmeasured": self.unmeasured,
                "stdev": self.spread, "repeat_spread": self.repeat_spread,
                "why_unmeasured": self.why_unmeasured}  # fmt: skip


@dataclass
class Run:
    """A run's record."""

    id: str
    name: str | None
    dataset: str | None
    dataset_version: int | None
    spec: dict[str, Any]
    status: str
    item_count: int
    done_count: int
    scores: dict[str, Any]
    cost: float
    error: str | None
    created_at: float
    finished_at: float | None
    results: list[Result] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without the results)."""
        out = {k: v for k, v in self.__dict__.items() if k != "results"}
        return out


def aggregate(results: list[Result], names: list[str]) -> dict[str, Aggregate]:
    """Means per evaluator, leaving unmeasured items out."""
    out: dict[str, Aggregate] = {}
    for name in names:
        values = [r.value(name) for r in results]
        measured = [v for v in values if v is not None]
        mean = sum(measured) / len(measured) if measured else None
        spread = None
        if mean is not None and len(measured) > 1:
            spread = math.sqrt(sum((v - mean) ** 2 for v in measured) / (len(measured) - 1))
        takes = [
            float(s["spread"])
            for r in results
            if isinstance(s := r.scores.get(name), dict)
            and isinstance(s.get("spread"), int | float)
        ]
        why = next(
            (str(r.scores[name].get("explanation")) for r in results
             if name in r.scores and r.value(name) is None),
            None,
        )  # fmt: skip
        out[name] = Aggregate(
            mean, len(measured), len(values) - len(measured), spread,
            sum(takes) / len(takes) if takes else None, why,
        )  # fmt: skip
    return out


class Runs:
    """Reads and writes runs and results."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(
        self,
        run_id: str,
        *,
        name: str | None,
        dataset: str | None,
        dataset_version: int | None,
        spec: dict[str, Any],
        item_count: int,
        status: str = "running",
    ) -> None:
        """Record a new run."""
        row = {
            "id": run_id, "name": name, "dataset": dataset, "dataset_version": dataset_version,
            "spec": spec, "status": status, "item_count": item_count, "done_count": 0,
            "scores": None, "cost": 0.0, "created_at": time.time(),
        }  # fmt: skip
        await self.store.awrite(lambda conn: conn.execute(runs_table.insert().values(**row)))

    async def done_ids(self, run_id: str) -> set[str]:
        """Items of the run that have a result (a resumed run skips them)."""

        def read(conn: Connection) -> set[str]:
            query = select(results_table.c.item_id).where(results_table.c.run_id == run_id)
            return set(conn.execute(query).scalars())

        return await self.store.aread(read)

    async def save(self, run_id: str, results: list[Result]) -> None:
        """Write items' results in one transaction (an item already written is skipped)."""
        now = time.time()
        rows = [
            {
                "run_id": run_id, "item_id": r.item_id, "position": r.position, "input": r.input,
                "expected": r.expected, "output": r.output, "scores": r.scores,
                "latency_ms": r.latency_ms, "cost": r.cost, "trace_id": r.trace_id,
                "error": r.error, "created_at": now,
            }
            for r in results
        ]  # fmt: skip

        def write(conn: Connection) -> None:
            ids = [row["item_id"] for row in rows]
            have = set(
                conn.execute(
                    select(results_table.c.item_id).where(
                        results_table.c.run_id == run_id, results_table.c.item_id.in_(ids)
                    )
                ).scalars()
            )
            new = [row for row in rows if row["item_id"] not in have]
            if not new:
                return
            # one statement for the batch (a row another process wrote meanwhile is skipped)
            conn.execute(self.store.insert_ignore(results_table), new)
            conn.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(
                    done_count=runs_table.c.done_count + len(new),
                    cost=runs_table.c.cost + sum(row["cost"] or 0.0 for row in new),
                )
            )

        await self.store.awrite(write)

    async def set_status(self, run_id: str, status: str, *, error: str | None = None) -> None:
        """Change a run's status (`running`, `queued`)."""

        def write(conn: Connection) -> None:
            conn.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(status=status, error=error)
            )

        await self.store.awrite(write)

    async def finish(
        self, run_id: str, status: str, scores: dict[str, Any], error: str | None = None
    ) -> None:
        """Mark a run ended with its aggregate scores."""

        def write(conn: Connection) -> None:
            conn.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(status=status, scores=scores, error=error, finished_at=time.time())
            )

        await self.store.awrite(write)

    async def get(self, run_id: str, *, results: bool = True) -> Run:
        """A run, with its results in dataset order (NotFound names it)."""

        def read(conn: Connection) -> Run:
            row = conn.execute(select(runs_table).where(runs_table.c.id == run_id)).mappings()
            found = row.first()
            if found is None:
                raise NotFound(f"no run {run_id!r}", code="run_not_found")
            run = _run(found)
            if results:
                query = (
                    select(results_table)
                    .where(results_table.c.run_id == run_id)
                    .order_by(results_table.c.position)
                )
                run.results = [_result(r) for r in conn.execute(query).mappings()]
            return run

        return await self.store.aread(read)

    async def list_runs(self, limit: int = 100, name: str | None = None) -> list[Run]:
        """The newest runs first."""

        def read(conn: Connection) -> list[Run]:
            query = select(runs_table).order_by(runs_table.c.created_at.desc()).limit(limit)
            if name:
                query = query.where(runs_table.c.name == name)
            return [_run(r) for r in conn.execute(query).mappings()]

        return await self.store.aread(read)

    async def stalled(self, idle: float, queued_for: float) -> list[str]:
        """Job-run experiments still queued after `queued_for` seconds, or running with no new
        result for `idle` seconds."""
        now = time.time()

        def read(conn: Connection) -> list[str]:
            latest = (
                select(func.max(results_table.c.created_at))
                .where(results_table.c.run_id == runs_table.c.id)
                .scalar_subquery()
            )
            query = select(runs_table.c.id, runs_table.c.spec).where(
                ((runs_table.c.status == "queued") & (runs_table.c.created_at < now - queued_for))
                | (
                    (runs_table.c.status == "running")
                    & (func.coalesce(latest, runs_table.c.created_at) < now - idle)
                )
            )
            return [row.id for row in conn.execute(query) if (row.spec or {}).get("job")]

        return await self.store.aread(read)


def _run(row: Any) -> Run:
    return Run(
        id=row["id"], name=row["name"], dataset=row["dataset"],
        dataset_version=row["dataset_version"], spec=row["spec"] or {}, status=row["status"],
        item_count=row["item_count"], done_count=row["done_count"], scores=row["scores"] or {},
        cost=row["cost"] or 0.0, error=row["error"], created_at=row["created_at"],
        finished_at=row["finished_at"],
    )  # fmt: skip


def _result(row: Any) -> Result:
    return Result(
        item_id=row["item_id"], position=row["position"], input=row["input"],
        expected=row["expected"], output=row["output"], scores=row["scores"] or {},
        latency_ms=row["latency_ms"], cost=row["cost"], trace_id=row["trace_id"],
        error=row["error"],
    )  # fmt: skip
