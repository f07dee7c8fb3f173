"""The property the router exists for, end to end through a running server and the OpenAI SDK:
with one of two deployments failing 30% of requests in mixed ways (500, 429 with
Retry-After, dropped connections, hangs), 1,000 requests at concurrency 32 all succeed and the
failing deployment's circuit opens; with every deployment down, clients get a quick 503
naming the deployments tried. Circuit changes are recorded as events and shown by
`/health/ready` and `llmdeck deployments list`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import openai
import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from llmdeck.cli import cli
from llmdeck.config import Settings
from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

MESSAGES: Any = [{"role": "user", "content": "hello"}]


def _deployment(fake: FakeProvider, name: str, timeout: float = 5, **knobs: Any) -> dict[str, Any]:
    return {
        "provider": "openai",
        "name": name,
        "model": name,
        "api_base": fake.openai_base,
        "api_key": "sk-fake",
        "timeout": timeout,
        "headers": FakeProvider.header(**knobs) if knobs else {},
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with FakeProvider(log_size=0) as fake:
        fast = {"backoff": {"initial": 0.01, "max": 0.05}}
        models = [
            {
                "name": "pair",
                "deployments": [
                    _deployment(fake, "flaky", timeout=0.3, fail_rate=0.3, seed=3),
                    _deployment(fake, "steady"),
                ],
                "circuit": {
                    "window": 2,
                    "min_requests": 10,
                    "failure_rate": 0.2,
                    "consecutive_failures": 3,
                    "cooldown": 0.2,
                },
                **fast,
            },
            {
                "name": "down",
                "deployments": [
                    _deployment(fake, "down-1", status=500),
                    _deployment(fake, "down-2", drop=True),
                ],
                "circuit": {"consecutive_failures": 2, "cooldown": 60},
                **fast,
            },
            {"name": "small", "deployments": [_deployment(fake, "small-1")]},
            {"name": "large", "deployments": [_deployment(fake, "large-1")]},
            {
                "name": "auto",
                "routing": "complexity",
                "tiers": {"simple": "small", "complex": "large"},
            },
        ]
        home = tmp_path_factory.mktemp("home")
        settings = Settings.model_validate({"home": home, "models": models})
        with ServerThread(settings) as running:
            yield running


def _circuit_events(server: ServerThread, deployment: str) -> list[str]:
    server.runtime.recorder.flush()
    rows = server.runtime.store.read(
        lambda conn: list(
            conn.execute(
                select(tables.events)
                .where(tables.events.c.source == "router")
                .order_by(tables.events.c.time)
            )
        )
    )
    return [
        f"{r.attributes['from']}>{r.attributes['to']}"
        for r in rows
        if r.attributes["deployment"] == deployment
    ]


async def _ask(session: aiohttp.ClientSession, url: str, stream: bool) -> str:
    """One chat completion over the OpenAI wire (aiohttp: a client fast enough that the
    server, not the client, is what is measured); the answer's text."""
    body = {"model": "pair", "messages": MESSAGES, "stream": stream}
    async with session.post(f"{url}/v1/chat/completions", json=body) as response:
        if response.status != 200:
            return f"{response.status}: {await response.text()}"
        if not stream:
            return str((await response.json())["choices"][0]["message"]["content"])
        text = []
        async for line in response.content:
            data = line.removeprefix(b"data: ").strip()
            if data and data != b"[DONE]":
                event = orjson.loads(data)
                if "error" in event:
                    return f"stream error: {event['error']}"
                text += [c["delta"].get("content") or "" for c in event["choices"]]
        return "".join(text)


@pytest.mark.slow
def test_a_thousand_requests_all_succeed_while_one_deployment_fails_30_percent(
    server: ServerThread,
) -> None:
    async def main() -> list[str]:
        gate = asyncio.Semaphore(32)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def one(index: int) -> str:
                async with gate:
                    return await _ask(session, server.url, stream=index % 4 == 0)

            return await asyncio.gather(*(one(i) for i in range(1000)))

    answers = asyncio.run(main())
    assert answers == ["echo: hello"] * 1000
    assert "closed>open" in _circuit_events(server, "flaky")
    assert _circuit_events(server, "steady") == []
    state = httpx.get(f"{server.url}/health/ready").json()["components"]["deployments"]
    flaky, steady = state["models"]["pair"]["deployments"]
    assert flaky["failures"] > 0 and steady["failures"] == 0
    assert flaky["requests"] + steady["requests"] >= 1000


def test_every_deployment_down_is_a_quick_503_naming_them(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.APIStatusError) as first:
        client.chat.completions.create(model="down", messages=MESSAGES)
    assert first.value.status_code in (502, 503)  # a 500 among the failures: a bad answer
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="down", messages=MESSAGES)
    assert time.monotonic() - started < 0.5
    assert caught.value.status_code == 503
    assert "down-1: circuit open" in caught.value.message and "down-2" in caught.value.message
    assert int(caught.value.response.headers["retry-after"]) > 50
    assert _circuit_events(server, "down-1") == ["closed>open"]

    ready = httpx.get(f"{server.url}/health/ready")
    assert ready.status_code == 200  # the replica still answers: it is ready
    component = ready.json()["components"]["deployments"]
    assert component["status"] == "down" and component["down"] == ["down"]
    states = {d["name"]: d["state"] for d in component["models"]["down"]["deployments"]}
    assert states == {"down-1": "open", "down-2": "open"}

    result = CliRunner().invoke(cli, ["deployments", "list", "--url", server.url, "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["models"]["down"]["available"] == 0
    table = CliRunner().invoke(cli, ["deployments", "list", "--url", server.url])
    assert "down-1" in table.output and "open" in table.output


def test_the_timeout_header_bounds_a_request(server: ServerThread) -> None:
    bad = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "pair", "messages": MESSAGES},
        headers={"x-llmdeck-timeout": "soon"},
    )
    assert bad.status_code == 400 and "x-llmdeck-timeout" in bad.json()["error"]["message"]
    fine = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "pair", "messages": MESSAGES},
        headers={"x-llmdeck-timeout": "5"},
    )
    assert fine.status_code == 200


def test_deployments_list_without_a_server_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["deployments", "list", "--url", "http://127.0.0.1:1"])
    assert result.exit_code != 0
    assert "no llmdeck server answers at http://127.0.0.1:1" in str(result.exception)


def test_the_trace_records_the_route_and_the_tier(server: ServerThread) -> None:
    question = "Compare Raft and Paxos, explain the trade-offs, and design a migration plan."
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": question}]},
    )
    assert response.status_code == 200 and response.headers["x-llmdeck-deployment"] == "large-1"
    server.runtime.recorder.flush()
    trace_id = response.headers["x-llmdeck-trace-id"]
    (span,) = server.runtime.store.read(
        lambda conn: list(
            conn.execute(select(tables.spans).where(tables.spans.c.trace_id == trace_id))
        )
    )
    assert span.model_alias == "large" and span.deployment == "large-1"
    assert span.attributes["tier"] == "complex" and span.attributes["routed_from"] == "auto"
    assert span.attributes["route"].startswith("complexity: 0.")
    assert span.attributes["route"].endswith("-> complex tier 'large'; priority: 1st of 1")
