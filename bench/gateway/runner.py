"""Running the load: one generator process per point, every point for every contender."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from functools import partial
from typing import Any

from bench.gateway import contenders, procfs, report
from bench.gateway.contenders import LOAD_CORE, PROXY_CORE, Process


def run_point(
    target: Process, stream: bool, concurrency: int, args: argparse.Namespace, duration: float
) -> dict[str, Any]:
    """One load run against `target`, from a fresh generator process on the load core."""
    cmd = [sys.executable, "-m", "bench.gateway.loadgen", "--port", str(target.port)]
    cmd += ["--body", contenders.body(stream).decode(), "--concurrency", str(concurrency)]
    cmd += ["--warmup", str(args.warmup), "--duration", str(duration), "--core", str(PROXY_CORE)]
    cmd += [f"--header={k}:{v}" for k, v in contenders.headers().items()]
    cmd += ["--stream"] if stream else []
    if target.pid is not None:
        cmd += ["--watch", str(target.pid)]
    done = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=partial(procfs.pin, LOAD_CORE)
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_rounds(targets: list[Process], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every point for every contender, round after round (LiteLLM: shorter points)."""
    levels = [int(c) for c in args.concurrency.split(",")]
    points = []
    for round_ in range(args.rounds):
        if args.wait_idle:
            wait_for_idle(args.wait_idle)
        for stream in (False, True):
            for concurrency in levels:
                for target in targets:
                    duration = args.duration
                    if target.name == "litellm":
                        duration = litellm_duration(args.duration)
                    result = run_point(target, stream, concurrency, args, duration)
                    point = {
                        "contender": target.name,
                        "stream": stream,
                        "round": round_,
                        "concurrency": concurrency,
                        **result,
                    }
                    points.append(point)
                    print(report.point_line(point), file=sys.stderr, flush=True)
    return points


def litellm_duration(duration: float) -> float:
    """LiteLLM serves tens of requests a second: a shorter window will do."""
    return max(2.0, duration * 0.6)


def wait_for_idle(limit: float, busy_at_most: float = 0.25) -> float:
    """Wait (up to `limit` seconds) until other work leaves both cores mostly idle: a shared
    machine's neighbours slow every contender. Returns the busy share last seen."""
    deadline = time.monotonic() + limit
    while True:
        before = [procfs.core_busy_seconds(core) for core in (PROXY_CORE, LOAD_CORE)]
        time.sleep(1.0)
        after = [procfs.core_busy_seconds(core) for core in (PROXY_CORE, LOAD_CORE)]
        busy = max(b - a for a, b in zip(before, after, strict=True))
        if busy <= busy_at_most or time.monotonic() > deadline:
            print(f"cores busy {busy:.0%} before the round", file=sys.stderr, flush=True)
            return busy
