"""How much the prompt registry adds to a gateway request.

    python bench/prompts_bench.py [--requests 2000] [--concurrency 16]

1. In process: the prompt stage's work per request (cached label resolution, sandboxed render,
   merge into the request), against parsing the same request body, which every request pays.
2. End to end: the same chat request through `llmdeck serve` in front of the fake provider (each
   its own process), once with `prompt: {...}` rendered server-side and once with the messages
   already in it, interleaved in rounds so that both see the same machine load.

Writes its figures under "## Prompt registry" in docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from llmdeck.gateway import ChatRequest
from llmdeck.gateway.stages.prompt import merge
from llmdeck.prompts import Prompts, PromptSpec
from llmdeck.store import open_store

SPEC: dict[str, Any] = {
    "name": "support-answer",
    "messages": [
        {"role": "system", "content": "You answer questions about {{ product }}. Be brief."},
        {
            "role": "user",
            "content": "{% for d in docs %}[{{ loop.index }}] {{ d }}\n{% endfor %}"
            "Question: {{ question }}",
        },  # fmt: skip
    ],
    "model": "gpt",
    "params": {"temperature": 0.2, "max_tokens": 200},
    "variables": {"product": "string", "question": "string", "docs": "list"},
    "labels": ["production"],
}
VARIABLES = {"product": "llmdeck", "question": "Does it stream?", "docs": ["a doc"] * 3}
HEADING = "## Prompt registry"


class Admin:
    name = "bench"
    admin = True


def micro(rounds: int = 20_000) -> dict[str, float]:
    """Microseconds per request: the stage's work, and parsing the rendered request."""
    with tempfile.TemporaryDirectory() as home:
        store = open_store(f"sqlite:///{home}/bench.db")
        prompts = Prompts(store)
        asyncio.run(prompts.push(PromptSpec.model_validate(SPEC), Admin()))
        ref = {"name": "support-answer", "variables": VARIABLES}
        request = ChatRequest.model_validate({"model": "gpt", "messages": [], "prompt": ref})

        async def stage() -> float:
            start = time.perf_counter()
            for i in range(rounds):
                found = await prompts.resolve("support-answer", user=f"u{i}")
                merge(request, prompts.render(found, VARIABLES), None)
            return (time.perf_counter() - start) / rounds * 1e6

        stage_us = asyncio.run(stage())
        rendered = merge(request, prompts.render(asyncio.run(prompts.resolve("support-answer")),
                                                 VARIABLES), None)  # fmt: skip
        body = rendered.model_dump_json(exclude_none=True)
        start = time.perf_counter()
        for _ in range(rounds):
            ChatRequest.model_validate_json(body)
        parse_us = (time.perf_counter() - start) / rounds * 1e6
        store.close()
    return {"stage_us": stage_us, "parse_us": parse_us}


async def load(url: str, body: dict[str, Any], requests: int, concurrency: int) -> list[float]:
    """Latencies (ms) of `requests` POSTs at `concurrency`."""
    latencies: list[float] = []
    remaining = list(range(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker() -> None:
            while remaining:
                remaining.pop()
                start = time.perf_counter()
                response = await client.post("/v1/chat/completions", json=body)
                response.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def started(command: list[str], url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a process and wait until `url` answers."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[2]} did not start")


def end_to_end(requests: int, concurrency: int, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Throughput and latency with the prompt rendered server-side and without: the fake
    provider, llmdeck and this client each in their own process."""
    fake_port, port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "llmdeck.yaml"
        config.write_text(
            "models:\n  - name: gpt\n    deployments:\n      - {provider: openai, model: m, "
            f"api_base: 'http://127.0.0.1:{fake_port}/v1'}}\n"
        )
        env = {**os.environ, "LLMDECK_HOME": home}
        env.pop("LLMDECK_ADMIN_KEY", None)
        fake = started(
            [sys.executable, "-m", "llmdeck.testing", "--port", str(fake_port)],
            f"http://127.0.0.1:{fake_port}/v1/models",
            env,
        )
        url = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-m", "llmdeck", "serve", "--config", str(config)]
        server = started([*serve, "--port", str(port)], url + "/health", env)
        try:
            return _measure(url, requests, concurrency, rounds)
        finally:
            for process in (server, fake):
                process.terminate()
                process.wait(30)


def _measure(url: str, requests: int, concurrency: int, rounds: int) -> dict[str, dict[str, float]]:
    httpx.post(url + "/api/prompts", json=SPEC).raise_for_status()
    preview = httpx.post(
        url + "/api/prompts/support-answer/render", json={"variables": VARIABLES}
    ).json()
    bodies = {
        "with prompt": {"model": "gpt", "messages": [],
                        "prompt": {"name": "support-answer", "variables": VARIABLES}},
        "plain messages": {"model": "gpt", "messages": preview["messages"], **preview["params"]},
    }  # fmt: skip
    runs: dict[str, list[tuple[float, list[float]]]] = {k: [] for k in bodies}
    asyncio.run(load(url, bodies["plain messages"], 300, concurrency))  # warm up
    for _ in range(rounds):
        for name, body in bodies.items():
            start = time.perf_counter()
            latencies = asyncio.run(load(url, body, requests, concurrency))
            runs[name].append((requests / (time.perf_counter() - start), latencies))
    out = {}
    for name, results in runs.items():
        best_rate, best = max(results, key=lambda r: r[0])
        cuts = statistics.quantiles(best, n=100)
        out[name] = {"rps": best_rate, "p50": cuts[49], "p99": cuts[98]}
    return out


def report(micro_: dict[str, float], e2e: dict[str, dict[str, float]], command: str) -> str:
    with_, plain = e2e["with prompt"], e2e["plain messages"]
    lines = [
        HEADING,
        "",
        f"Reproduce: `{command}` (2 cores shared with other work: load average "
        f"{os.getloadavg()[0]:.1f} at the end; best of 3 interleaved rounds).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| prompt stage work per request (resolve cached label, render, merge) "
        f"| {micro_['stage_us']:.1f} µs |",
        f"| parsing the rendered request body (paid by every request) "
        f"| {micro_['parse_us']:.1f} µs |",
        f"| ratio stage / parse | {micro_['stage_us'] / micro_['parse_us']:.1f}x |",
        "",
        "| gateway, fake provider | requests/s | p50 ms | p99 ms |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in e2e.items():
        lines.append(f"| {name} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} |")
    lines += [
        "",
        f"Throughput with the prompt rendered server-side is {with_['rps'] / plain['rps']:.2f}x "
        "that of the same request sent with its messages already rendered.",
        "",
    ]
    return "\n".join(lines)


def write(section: str, path: Path = Path("docs/benchmarks.md")) -> None:
    """Replace (or add) this benchmark's section, keeping the others."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    start = text.find(HEADING)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    micro_ = micro()
    e2e = end_to_end(args.requests, args.concurrency)
    section = report(micro_, e2e, "python bench/prompts_bench.py " + " ".join(sys.argv[1:]))
    print(section)
    write(section)


if __name__ == "__main__":
    main()
