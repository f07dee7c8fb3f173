"""Scale-out on one machine: throughput of `llmdeck serve --workers N` for N = 1, 2, 4, on
PostgreSQL and Redis (the scale-out backends), against the fake provider in its own process,
loaded by wrk (C, one thread) with 64 keep-alive connections.

    python bench/scale.py [--seconds 10] [--connections 64]

Writes `## Scale-out` in docs/benchmarks.md. Needs PostgreSQL and Redis as in tests/conftest
(LLMDECK_TEST_POSTGRES_URL, LLMDECK_TEST_REDIS_URL) and wrk on the PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from llmdeck.testing import free_port  # noqa: E402

POSTGRES = os.environ.get("LLMDECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LLMDECK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BODY = {"model": "gpt", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{body}'
"""


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited")
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    return {
        "rps": rate,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
        "p50_ms": _ms(p50),
        "p99_ms": _ms(p99),
    }


def _ms(match: re.Match[str] | None) -> float:
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_one(workers: int, fake_base: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    config = tmp / f"scale-{workers}.yaml"
    config.write_bytes(
        orjson.dumps(
            {
                "database_url": f"{POSTGRES}?options=-csearch_path%3D{schema}",
                "redis_url": REDIS,
                "state": {"prefix": f"bench-{schema}:"},
                "models": [
                    {
                        "name": "gpt",
                        "deployments": [
                            {
                                "provider": "openai",
                                "api_base": fake_base,
                                "model": "m",
                                "price": {"input": 0.15, "output": 0.6},
                            }
                        ],
                    }
                ],
            }
        )
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDECK_")}
    env["LLMDECK_HOME"] = str(tmp / f"home-{workers}")
    command = [sys.executable, "-m", "llmdeck", "serve", "--config", str(config)]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/health/ready", server)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        script = tmp / "post.lua"
        script.write_text(LUA.format(body=orjson.dumps(BODY).decode()))
        wrk(url, script, 3, args.connections)  # warm-up: connections, caches, JIT-free paths
        result = wrk(url, script, args.seconds, args.connections)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return {"workers": workers, **result}


def fake_alone(fake_port: int, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    script = tmp / "post.lua"
    script.write_text(LUA.format(body=orjson.dumps(BODY).decode()))
    url = f"http://127.0.0.1:{fake_port}/v1/chat/completions"
    return wrk(url, script, args.seconds, args.connections)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args(argv)
    fake_port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "llmdeck.testing", "--port", str(fake_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(f"http://127.0.0.1:{fake_port}/v1/models", fake)
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            ceiling = fake_alone(fake_port, args, tmp)
            rows = [
                run_one(int(n), f"http://127.0.0.1:{fake_port}/v1", args, tmp)
                for n in args.workers.split(",")
            ]
    finally:
        fake.send_signal(signal.SIGTERM)
        fake.wait(30)
    report(rows, ceiling, args)


def report(rows: list[dict[str, Any]], ceiling: dict[str, float], args: argparse.Namespace) -> None:
    base = rows[0]["rps"]
    cores = os.cpu_count() or 1
    lines = [
        f"`python bench/scale.py --seconds {args.seconds:g} --connections {args.connections}` "
        f"on this {cores}-core machine: `llmdeck serve --workers N` on PostgreSQL + Redis, "
        "non-streaming chat completions against the fake provider (its own process, no added "
        f"latency), wrk with one thread and {args.connections} keep-alive connections. The "
        "server, the fake, wrk, PostgreSQL and Redis all share the same two cores.",
        "",
        "| processes | requests/s | vs 1 process | per core used | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        used = min(row["workers"], cores)
        errors = int(row["non_2xx"] + row["socket_errors"])
        lines.append(
            f"| {row['workers']} | {row['rps']:,.0f} | {row['rps'] / base:.2f}x | "
            f"{row['rps'] / used:,.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {errors} |"
        )
    lines += [
        "",
        f"The fake provider alone answers {ceiling['rps']:,.0f} requests/s to the same wrk "
        "(p50 {p50:.1f} ms): the ceiling any number of gateway processes could reach here.".format(
            p50=ceiling["p50_ms"]
        ),
    ]
    write_section("## Scale-out", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
