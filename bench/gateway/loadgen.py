"""The load generator: `concurrency` keep-alive connections on uvloop, each sending the same
POST again as soon as the previous response (a whole stream, for streams) has arrived.

Responses are parsed by httptools (the C parser uvicorn uses), so a request costs the generator
tens of microseconds, and each latency is taken with a monotonic clock around exactly one
request on its connection. Runs as its own process and prints one JSON object:

    python -m bench.gateway.loadgen --port 4000 --body '{...}' --concurrency 64 --watch PID
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import httptools
import uvloop

from bench.gateway import procfs

STREAM_END = b"data: [DONE]\n\n"
_TAIL = len(STREAM_END)


@dataclass
class Tally:
    """What the measured window saw."""

    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ns: list[int] = field(default_factory=list)

    def error(self, kind: str) -> None:
        """Count one failed request."""
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Run:
    """The shared state of one load run: the request, the phase, and the tally."""

    def __init__(self, request: bytes, stream: bool) -> None:
        self.request = request
        self.stream = stream
        self.measuring = False
        self.stopped = False
        self.tally = Tally()

    def finished(self, latency_ns: int, problem: str | None) -> None:
        """Record one complete response (counted only inside the measured window)."""
        if not self.measuring:
            return
        if problem is None:
            self.tally.ok += 1
            self.tally.latencies_ns.append(latency_ns)
        else:
            self.tally.error(problem)


class Client(asyncio.Protocol):
    """One keep-alive connection sending requests back to back."""

    def __init__(self, run: Run, closed: asyncio.Future[None]) -> None:
        self.run = run
        self.closed = closed
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.started = 0
        self.busy = False
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        if self.transport is None:
            return
        if self.run.stopped:
            self.transport.close()
            return
        self.busy = True
        self.tail = b""
        self.started = time.perf_counter_ns()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.run.finished(0, "bad_http")
            self.busy = False
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        self.tail = (self.tail + body)[-_TAIL:]

    def on_message_complete(self) -> None:
        latency = time.perf_counter_ns() - self.started
        self.busy = False
        status = self.parser.get_status_code()
        problem = None
        if status != 200:
            problem = f"status_{status}"
        elif self.run.stream and self.tail != STREAM_END:
            problem = "stream_not_done"
        self.run.finished(latency, problem)
        if self.parser.should_keep_alive():
            self.send()
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.run.finished(0, "connection_lost")
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)


async def _client(run: Run, host: str, port: int) -> None:
    """Keep one connection going until the run stops (reconnecting after a close)."""
    loop = asyncio.get_running_loop()
    while not run.stopped:
        closed: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(partial(Client, run, closed), host, port)
        except OSError:
            run.finished(0, "connect_failed")
            await asyncio.sleep(0.05)
            continue
        await closed


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The raw HTTP/1.1 request."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _percentile(ordered: list[int], share: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index] / 1000


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then measure for `duration` seconds; the summary."""
    body = args.body.encode()
    headers = {"Content-Type": "application/json", **dict(h.split(":", 1) for h in args.header)}
    request = request_bytes(args.host, args.port, args.path, body, headers)
    run = Run(request, args.stream)
    tasks = [
        asyncio.create_task(_client(run, args.host, args.port)) for _ in range(args.concurrency)
    ]
    await asyncio.sleep(args.warmup)
    gc.collect()
    gc.freeze()
    watched = [pid for top in args.watch for pid in procfs.tree(top)]
    cpu_before = procfs.cpu_seconds(watched)
    core_before = procfs.core_busy_seconds(args.core) if args.core is not None else 0.0
    own_before = time.process_time()
    run.measuring, started = True, time.perf_counter()
    await asyncio.sleep(args.duration)
    elapsed = time.perf_counter() - started
    run.measuring = False
    cpu = procfs.cpu_seconds(watched) - cpu_before
    core = procfs.core_busy_seconds(args.core) - core_before if args.core is not None else None
    own = time.process_time() - own_before
    run.stopped = True
    await _drain(tasks)
    return _summary(run.tally, elapsed, cpu, core, own)


async def _drain(tasks: list[asyncio.Task[None]], timeout: float = 30.0) -> None:
    """Let in-flight requests finish (their results are not counted), then stop."""
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()


def _summary(
    tally: Tally, elapsed: float, cpu: float, core: float | None, own: float
) -> dict[str, Any]:
    ordered = sorted(tally.latencies_ns)
    done = tally.ok
    return {
        "requests": done,
        "errors": tally.errors,
        "seconds": elapsed,
        "rps": done / elapsed if elapsed else 0.0,
        "p50_us": _percentile(ordered, 0.50),
        "p90_us": _percentile(ordered, 0.90),
        "p99_us": _percentile(ordered, 0.99),
        "max_us": ordered[-1] / 1000 if ordered else float("nan"),
        "mean_us": sum(ordered) / len(ordered) / 1000 if ordered else float("nan"),
        "target_cpu_s": cpu,
        "core_busy_s": core,
        "loadgen_cpu_s": own,
    }


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(prog="python -m bench.gateway.loadgen")
    cli.add_argument("--host", default="127.0.0.1")
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--path", default="/v1/chat/completions")
    cli.add_argument("--body", required=True, help="the JSON body to POST")
    cli.add_argument("--header", action="append", default=[], help="NAME:VALUE, repeatable")
    cli.add_argument("--stream", action="store_true", help="expect SSE ending in [DONE]")
    cli.add_argument("--concurrency", type=int, default=1)
    cli.add_argument("--warmup", type=float, default=1.0, help="seconds not measured")
    cli.add_argument("--duration", type=float, default=5.0, help="seconds measured")
    cli.add_argument("--watch", type=int, action="append", default=[], help="PID to take CPU of")
    cli.add_argument("--core", type=int, default=None, help="core whose busy time to report")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run once and print the summary as JSON."""
    args = parser().parse_args(argv)
    gc.disable()
    result = uvloop.run(measure(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the numbers are out


if __name__ == "__main__":
    sys.exit(main())
