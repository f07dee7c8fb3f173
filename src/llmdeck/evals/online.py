"""Online evaluation: a sampled share of live calls scored continuously by chosen evaluators.

A periodic job (`evals.online`) reads the `llm` spans recorded since its cursor, keeps the ones
its sample picks (by trace id, so the choice is stable), scores them and attaches the scores to
their spans through the Recorder (source `evaluator`). `score_series` gives the time series and
the drops the UI charts.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, func, select

from llmdeck.config import OnlineSettings
from llmdeck.evals.evaluators import Case, build_evaluators
from llmdeck.evals.from_traces import last_user_text
from llmdeck.evals.items import Item
from llmdeck.evals.service import Evals
from llmdeck.jobs import Job, Jobs
from llmdeck.observe import Event, Score
from llmdeck.store.tables import eval_online, spans
from llmdeck.store.tables import scores as scores_table

TICK = "evals.online"
DROP_WINDOW_HOURS = 24
CURSOR = "default"


def picked(trace_id: str, rate: float) -> bool:
    """Whether the sample takes this trace (the same answer on every replica)."""
    try:
        return int(trace_id[:8], 16) < rate * 0x1_0000_0000
    except ValueError:
        return False


class OnlineEvaluator:
    """Scores new calls each tick."""

    def __init__(self, evals: Evals, settings: OnlineSettings) -> None:
        self.evals = evals
        self.settings = settings
        self.evaluators = build_evaluators(list(settings.evaluators), evals.tools())
        self.reported: set[tuple[str, int]] = set()

    def register(self, jobs: Jobs) -> None:
        """Run a tick every `interval` seconds through the job queue."""

        async def handle(job: Job) -> None:
            await self.tick()

        jobs.register(TICK, handle)
        jobs.every(TICK, self.settings.interval)

    async def tick(self) -> int:
        """Score what arrived since the last tick; returns how many calls were scored."""
        store = self.evals.store
        rows, cursor = await store.aread(self._new_calls)
        scored = 0
        for row in rows:
            cursor = max(cursor, row["start_time"])
            if not picked(row["trace_id"], self.settings.sample_rate):
                continue
            await self._score(row)
            scored += 1
        await store.awrite(lambda conn: self._advance(conn, cursor, scored))
        await self._report_drops()
        return scored

    async def _report_drops(self) -> None:
        """An event (`evals.score_drop`, warning) for each new drop in an evaluator's hourly
        mean, so it shows with the system's other events."""
        recorder = self.evals.recorder
        if recorder is None:
            return
        found = await score_series(self.evals, hours=DROP_WINDOW_HOURS)
        for drop in found["drops"]:
            key = (drop["name"], drop["t"])
            if key in self.reported:
                continue
            self.reported.add(key)
            recorder.record_event(
                Event("evals.score_drop", level="warning", source="evals",
                      message=f"{drop['name']}: hourly mean {drop['mean']:.3f}, down from "
                      f"{drop['before']:.3f}", attributes=drop)
            )  # fmt: skip

    def _new_calls(self, conn: Connection) -> tuple[list[Any], float]:
        found = conn.execute(select(eval_online.c.cursor).where(eval_online.c.name == CURSOR))
        cursor = found.scalar()
        if cursor is None:  # first tick: start from now, not from all history
            cursor = time.time() - self.settings.interval
        query = (
            select(spans)
            .where(spans.c.kind == "llm", spans.c.status == "ok", spans.c.start_time > cursor)
            .order_by(spans.c.start_time)
            .limit(self.settings.batch_size)
        )
        return list(conn.execute(query).mappings()), float(cursor)

    def _advance(self, conn: Connection, cursor: float, scored: int) -> None:
        statement = self.evals.store.upsert(eval_online, ["name"], ["cursor"])
        conn.execute(statement.values(name=CURSOR, cursor=cursor, scored=scored))

    async def _score(self, row: Any) -> None:
        output = row["output"]
        answer = output.get("content") if isinstance(output, dict) else None
        item = Item(id=row["trace_id"], input=last_user_text(row["input"]) or "")
        case = Case(item, answer if isinstance(answer, str) else "", (), row["latency_ms"],
                    row["cost"])  # fmt: skip
        recorder = self.evals.recorder
        for evaluator in self.evaluators:
            try:
                result = await evaluator.evaluate(case)
            except Exception:  # noqa: BLE001 - a failing evaluator skips its score, not the tick
                continue
            if result.value is None or recorder is None:
                continue
            recorder.record_score(
                Score(row["trace_id"], evaluator.name, "numeric", result.value,
                      span_id=row["id"], source="evaluator", comment=result.explanation[:500],
                      metadata={"online": True})
            )  # fmt: skip


def _series(conn: Connection, since: float, step: int) -> list[Any]:
    bucket = func.floor(scores_table.c.created_at / step)
    query = (
        select(
            scores_table.c.name, bucket.label("bucket"),
            func.avg(scores_table.c.value).label("mean"), func.count().label("count"),
        )
        # online scores are on a call's span; an experiment's are on its item's trace
        .where(scores_table.c.source == "evaluator", scores_table.c.span_id.is_not(None),
               scores_table.c.created_at >= since, scores_table.c.value.is_not(None))
        .group_by(scores_table.c.name, bucket)
        .order_by(scores_table.c.name, bucket)
    )  # fmt: skip
    return list(conn.execute(query).mappings())


async def score_series(evals: Evals, *, hours: float = 24, step: int = 3600,
                       drop: float = 0.1) -> dict[str, Any]:  # fmt: skip
    """Evaluator scores per time bucket, per name, and the buckets whose mean fell more than
    `drop` below the mean of the buckets before them."""
    rows = await evals.store.aread(lambda conn: _series(conn, time.time() - hours * 3600, step))
    series: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        series.setdefault(row["name"], []).append(
            {"t": int(row["bucket"]) * step, "mean": float(row["mean"]), "count": int(row["count"])}
        )
    drops = []
    for name, points in series.items():
        for index in range(1, len(points)):
            before = [p["mean"] for p in points[:index]]
            baseline = sum(before) / len(before)
            if points[index]["mean"] < baseline - drop:
                drops.append({"name": name, "t": points[index]["t"],
                              "mean": points[index]["mean"], "before": baseline})  # fmt: skip
    return {"step": step, "series": series, "drops": drops}
