"""How much the prompt registry adds to a gateway request.

    python bench/prompts_bench.py [--requests 200]

1. In process: the prompt stage's work per request (cached label resolution, sandboxed render,
   merge into the request), against parsing the same request body, which every request pays.
2. Through the gateway: the same chat request through the whole server (in process, over ASGI)
   to the fake provider, once with `prompt: {...}` rendered server-side and once with the
   messages already in it, alternating in rounds so that both see the same machine load.

Writes its figures under "## Prompt registry" in docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` from the checkout

from bench.report import replace_section
from llmdeck.config import Settings
from llmdeck.gateway import ChatRequest
from llmdeck.gateway.stages.prompt import merge
from llmdeck.prompts import Prompts, PromptSpec
from llmdeck.server import create_app
from llmdeck.store import open_store
from llmdeck.testing import FakeProvider

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

        async def stage(render: bool) -> float:
            start = time.perf_counter()
            for i in range(rounds):
                found = await prompts.resolve("support-answer", user=f"u{i}")
                if render:
                    merge(request, prompts.render(found, VARIABLES), None)
            return (time.perf_counter() - start) / rounds * 1e6

        resolve_us = asyncio.run(stage(render=False))
        stage_us = asyncio.run(stage(render=True))
        rendered = merge(request, prompts.render(asyncio.run(prompts.resolve("support-answer")),
                                                 VARIABLES), None)  # fmt: skip
        body = rendered.model_dump_json(exclude_none=True)
        start = time.perf_counter()
        for _ in range(rounds):
            ChatRequest.model_validate_json(body)
        parse_us = (time.perf_counter() - start) / rounds * 1e6
        store.close()
    return {"stage_us": stage_us, "resolve_us": resolve_us, "parse_us": parse_us}


def gateway(requests: int, rounds: int = 12) -> dict[str, float]:
    """Milliseconds per request through the whole server (ASGI, in process) to the fake
    provider, with the prompt rendered server-side and with the messages already rendered,
    alternating in rounds so both see the same machine load; the best round of each."""
    return asyncio.run(_gateway(requests, rounds))


async def _gateway(requests: int, rounds: int) -> dict[str, float]:
    with FakeProvider() as fake, tempfile.TemporaryDirectory() as home:
        deployment = {"provider": "openai", "model": "m", "api_base": fake.openai_base}
        settings = Settings.model_validate(
            {"home": home, "models": [{"name": "gpt", "deployments": [deployment]}]}
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
        ):
            (await client.post("/api/prompts", json=SPEC)).raise_for_status()
            preview = await client.post(
                "/api/prompts/support-answer/render", json={"variables": VARIABLES}
            )
            rendered = preview.json()
            bodies = {
                "with prompt": {"model": "gpt", "messages": [],
                                "prompt": {"name": "support-answer", "variables": VARIABLES}},
                "plain messages": {"model": "gpt", "messages": rendered["messages"],
                                   **rendered["params"]},
            }  # fmt: skip
            best = {name: float("inf") for name in bodies}
            recorder = app.state.runtime.recorder
            for round_ in range(rounds):
                order = list(bodies.items())
                for name, body in order if round_ % 2 else reversed(order):
                    await asyncio.to_thread(recorder.flush)  # no span writing from the last run
                    start = time.perf_counter()
                    for _ in range(requests):
                        (await client.post("/v1/chat/completions", json=body)).raise_for_status()
                    elapsed = (time.perf_counter() - start) / requests * 1000
                    best[name] = min(best[name], elapsed)
    return best


def report(micro_: dict[str, float], per_request: dict[str, float], command: str) -> str:
    """The Markdown section."""
    with_, plain = per_request["with prompt"], per_request["plain messages"]
    return "\n".join(
        [
            HEADING,
            "",
            f"Reproduce: `{command}` (2 cores shared with other work: load average "
            f"{os.getloadavg()[0]:.1f} at the end; best of alternating rounds).",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| prompt stage work per request (resolve cached label, render, merge) "
            f"| {micro_['stage_us']:.1f} µs |",
            f"| of which resolving the label (cached, sticky bucket) "
            f"| {micro_['resolve_us']:.1f} µs |",
            f"| parsing the rendered request body (paid by every request) "
            f"| {micro_['parse_us']:.1f} µs |",
            f"| a gateway request with `prompt` rendered server-side | {with_:.3f} ms |",
            f"| the same request with its messages already rendered | {plain:.3f} ms |",
            f"| added by the prompt registry | {(with_ - plain) * 1000:.0f} µs "
            f"({with_ / plain - 1:+.1%}) |",
            "",
            "Gateway requests go through the whole server (routing, stages, trace recording) in "
            "process over ASGI to the fake provider on a real socket, one at a time.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per round and kind")
    args = parser.parse_args()
    micro_ = micro()
    per_request = gateway(args.requests)
    command = " ".join(["python bench/prompts_bench.py", *sys.argv[1:]])
    section = report(micro_, per_request, command)
    print(section)
    replace_section(section)


if __name__ == "__main__":
    main()
