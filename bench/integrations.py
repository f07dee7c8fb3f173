"""Framework integrations: what the tracing handlers add per step.

A LangChain chain of N `RunnableLambda` steps, and a LlamaIndex call tree of N
`@dispatcher.span` steps, each run with and without llmdeck's handler, side by side in one
process. Spans go to an in-memory sink, so the figures are the handler's own work in the
application's thread (the SDK's HTTP sink batches spans from a background thread).

    python -m bench.integrations            # writes docs/benchmarks.md "## Framework integrations"
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from llama_index_instrumentation import get_dispatcher

from llmdeck.integrations.langchain import LlmdeckCallbackHandler
from llmdeck.integrations.llamaindex import instrument
from llmdeck.observe import Span, Tracer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.report import write_section  # noqa: E402

HEADING = "## Framework integrations"
STEPS = 20
RUNS = 300
ROUNDS = 9


def _langchain_chain(steps: int) -> Runnable[Any, Any]:
    chain: Runnable[Any, Any] = RunnableLambda(lambda x: x + 1, name="step")
    for _ in range(steps - 1):
        chain = chain | RunnableLambda(lambda x: x + 1, name="step")
    return chain


def _side_by_side(plain: Callable[[], Any], traced: Callable[[], Any]) -> tuple[float, float]:
    """Median seconds per run of each, over ROUNDS interleaved rounds of RUNS runs (so drift
    in the machine's speed falls on both alike)."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(ROUNDS):
        for index, run in enumerate((plain, traced)):
            start = time.perf_counter()
            for _ in range(RUNS):
                run()
            times[index].append((time.perf_counter() - start) / RUNS)
    return statistics.median(times[0]), statistics.median(times[1])


def _sink_tracer() -> tuple[Tracer, list[Span]]:
    spans: list[Span] = []
    return Tracer().configure(sink=spans.append), spans


def bench_langchain(steps: int) -> tuple[float, float, int]:
    """(seconds per chain without, with the handler, spans per chain)."""
    chain = _langchain_chain(steps)
    tracer, spans = _sink_tracer()
    handler = LlmdeckCallbackHandler(tracer=tracer)
    plain, traced = _side_by_side(
        lambda: chain.invoke(0), lambda: chain.invoke(0, config={"callbacks": [handler]})
    )
    return plain, traced, len(spans) // (RUNS * ROUNDS)


class _Step:
    dispatcher = get_dispatcher("bench")

    @dispatcher.span
    def run(self, x: int) -> int:
        return x + 1

    @dispatcher.span
    def chain(self, x: int, steps: int) -> int:
        for _ in range(steps):
            x = self.run(x)
        return x


def bench_llamaindex(steps: int) -> tuple[float, float, int]:
    """(seconds per call tree without, with the handler, spans per tree)."""
    step = _Step()
    tracer, spans = _sink_tracer()
    attached = instrument(tracer=tracer, dispatcher="bench")
    attached.detach()

    def traced() -> None:
        attached.attach()
        try:
            step.chain(0, steps)
        finally:
            attached.detach()

    plain, with_handler = _side_by_side(lambda: step.chain(0, steps), traced)
    return plain, with_handler, len(spans) // (RUNS * ROUNDS)


def _row(name: str, plain: float, traced: float, spans: int) -> str:
    per_step = (traced - plain) / spans * 1e6
    return (
        f"| {name} | {spans} | {plain * 1e3:.2f} | {traced * 1e3:.2f} | "
        f"{traced / plain:.2f}x | {per_step:.0f} |"
    )


def main() -> None:
    """Run both, print and write the section."""
    langchain = bench_langchain(STEPS)
    llamaindex = bench_llamaindex(STEPS)
    lines = [
        f"`python -m bench.integrations`: a chain of {STEPS} steps, {RUNS} runs x {ROUNDS} "
        "rounds, without and with the handler interleaved (median round), spans to an "
        "in-memory sink.",
        "",
        "| framework | spans per run | ms per run, no handler | ms per run, handler | ratio "
        "| µs added per span |",
        "| --- | --- | --- | --- | --- | --- |",
        _row("LangChain (`LlmdeckCallbackHandler`)", *langchain),
        _row("LlamaIndex (`instrument()`)", *llamaindex),
        "",
        "The handler adds the figure in the last column to each step (a span opened, made "
        "current, closed and queued); the framework's own work per step is in the first "
        "column. Target: under 150 µs per step on these 2 cores, small beside any model call or "
        "retrieval (milliseconds at least).",
    ]
    print("\n".join(lines))
    write_section(HEADING, lines)


if __name__ == "__main__":
    main()
