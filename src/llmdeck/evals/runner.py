"""The experiment runner: a target over a dataset's items, each answer scored by the evaluators.

Items run `concurrency` at a time. A 429 (from the gateway's limits or an HTTP target) pauses
every worker until its Retry-After has passed, then the item is tried again. Each item is one
trace (its gateway calls join it), its scores are attached to that trace, and its result is
written as soon as it is complete, so an interrupted run resumes without redoing any item.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmdeck.errors import LlmdeckError, RateLimited
from llmdeck.evals.evaluators import Case, EvalScore, Evaluator
from llmdeck.evals.items import Item
from llmdeck.evals.runs import Result, Runs
from llmdeck.evals.targets import Answer, Target
from llmdeck.observe import Recorder, Score, Tracer

Progress = Callable[[int, int], None]
"""Called with (items done, items in the run) after each item."""

MAX_RATE_LIMITED = 20  # tries of one item that keeps getting 429s before it is recorded failed


class GroupWriter:
    """Writes results as they complete, without holding up the worker that made them: results
    that complete while a write is in progress go together in the next one (group commit).
    `flush` waits for everything handed over and raises if a write failed."""

    def __init__(self, runs: Runs, run_id: str, written: Callable[[int], None]) -> None:
        self.runs = runs
        self.run_id = run_id
        self.written = written
        self.pending: list[Result] = []
        self.task: asyncio.Task[None] | None = None

    def put(self, result: Result) -> None:
        """Hand over a result; it is written at once, or with the next group."""
        self.pending.append(result)
        if self.task is None or self.task.done():
            if self.task is not None:
                self.task.result()  # a failed write stops the run here
            self.task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            await self.runs.save(self.run_id, batch)
            self.written(len(batch))

    async def flush(self) -> None:
        """Wait until every result handed over is stored (the drain runs until none is left)."""
        if self.task is not None:
            await self.task


@dataclass
class Pause:
    """A shared "not before" time: a 429 holds every worker back, not just the one that got it."""

    until: float = 0.0
    waits: int = 0

    async def wait(self) -> None:
        """Sleep until the pause is over."""
        while (delay := self.until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def hold(self, seconds: float) -> None:
        """Pause everyone for `seconds` from now (extending, never shortening, a pause)."""
        self.waits += 1
        self.until = max(self.until, time.monotonic() + seconds)


class Runner:
    """Runs one experiment."""

    def __init__(
        self,
        target: Target,
        evaluators: Sequence[Evaluator],
        runs: Runs,
        *,
        recorder: Recorder | None = None,
        concurrency: int = 8,
        name: str = "eval",
    ) -> None:
        self.target = target
        self.evaluators = list(evaluators)
        self.runs = runs
        self.recorder = recorder
        self.concurrency = concurrency
        self.name = name
        self.pause = Pause()
        self.tracer = Tracer().configure(sink=recorder.record) if recorder is not None else None

    async def run(
        self, run_id: str, items: Sequence[Item], progress: Progress | None = None
    ) -> int:
        """Run the items that have no result yet; returns how many ran now."""
        done = await self.runs.done_ids(run_id)
        positions = {item.id: index for index, item in enumerate(items)}
        pending = [item for item in items if item.id not in done]
        finished = len(items) - len(pending)
        if progress:
            progress(finished, len(items))

        def written(count: int) -> None:
            nonlocal finished
            finished += count
            if progress:
                progress(finished, len(items))

        writer = GroupWriter(self.runs, run_id, written)
        queue: asyncio.Queue[Item] = asyncio.Queue()
        for item in pending:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                item = queue.get_nowait()
                writer.put(await self.one(run_id, item, positions[item.id]))

        workers = max(1, min(self.concurrency, len(pending)))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            await writer.flush()
        return len(pending)

    async def one(self, run_id: str, item: Item, position: int) -> Result:
        """Answer and score one item, in its own trace."""
        if self.tracer is None:
            return await self._scored(run_id, item, position, None)
        async with self.tracer.span(f"eval {self.name}", kind="chain", input=item.question) as span:
            span.update(attributes={"eval.run": run_id, "eval.item": item.id})
            result = await self._scored(run_id, item, position, span.trace_id)
            span.update(output=result.output, status="error" if result.error else "ok")
            if result.error:
                span.update(error=result.error)
        return result

    async def _scored(self, run_id: str, item: Item, position: int, trace_id: str | None) -> Result:
        started = time.perf_counter()
        try:
            answer = await self._answer(item)
        except (TimeoutError, LlmdeckError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            return Result(item.id, position, item.to_dict(), item.expected, None,
                          {}, None, None, trace_id, error)  # fmt: skip
        latency = (time.perf_counter() - started) * 1000
        case = Case(item, answer.output, answer.chunks, latency, answer.cost)
        scores = {e.name: (await self._score(e, case)).to_dict() for e in self.evaluators}
        trace = trace_id or answer.trace_id
        if trace is not None and self.recorder is not None:
            for name, score in scores.items():
                if score["value"] is not None:
                    self.recorder.record_score(
                        Score(trace, name, "numeric", score["value"], source="evaluator",
                              comment=score["explanation"][:500], metadata={"eval_run": run_id})
                    )  # fmt: skip
        return Result(
            item.id, position, item.to_dict(), item.expected, answer.output, scores,
            latency, answer.cost, trace,
        )  # fmt: skip

    async def _answer(self, item: Item) -> Answer:
        for _ in range(MAX_RATE_LIMITED):
            await self.pause.wait()
            try:
                return await self.target.answer(item)
            except RateLimited as exc:
                self.pause.hold(max(exc.retry_after, 0.05))
        raise RateLimited("still rate limited after many tries", retry_after=0)

    async def _score(self, evaluator: Evaluator, case: Case) -> EvalScore:
        try:
            return await evaluator.evaluate(case)
        except Exception as exc:  # noqa: BLE001 - one broken evaluator must not sink the run
            return EvalScore(None, f"evaluator failed: {type(exc).__name__}: {exc}"[:300])
