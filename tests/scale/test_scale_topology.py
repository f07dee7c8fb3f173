"""Two `llmdeck serve` replicas and one `llmdeck worker` on one PostgreSQL schema and one Redis
prefix, under load against the fake provider: every request is answered and traced, a rate
limit and a budget hold across replicas, and a batch split into jobs across three processes
(two replicas working jobs in-process and the worker) runs each line exactly once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import func, select
from tests.keys.conftest import create_key, knobs
from tests.keys.test_limits_gateway import COST, IN, OUT, PRICE
from tests.keys.test_replicas import burst

from llmdeck.store import tables
from llmdeck.testing import FakeProvider

from .conftest import ADMIN, Topology, admin_headers, write_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]
REQUESTS = 400
LINES = 120


def exact_alias(fake: FakeProvider) -> dict[str, Any]:
    """An alias whose calls cost exactly COST (the fake reports fixed usage)."""
    deployment = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "model": "m",
        "name": "exact-dep",
        "price": PRICE,
        "headers": knobs(usage={"input_tokens": IN, "output_tokens": OUT}),
    }
    return {"name": "exact", "deployments": [deployment]}


async def load(urls: list[str], count: int, concurrency: int) -> list[httpx.Response]:
    """`count` chat requests, alternating between replicas, all read to the end."""
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, headers=admin_headers()) as client:

        async def one(i: int) -> httpx.Response:
            async with gate:
                return await client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=body)

        return await asyncio.gather(*(one(i) for i in range(count)))


def wait_for_spans(topology: Topology, trace_ids: set[str], timeout: float = 15) -> set[str]:
    """The trace ids among `trace_ids` that have a span in the database (waiting for the
    write-behind recorders)."""
    store = topology.store()
    found: set[str] = set()
    try:
        deadline = time.monotonic() + timeout
        query = select(tables.spans.c.trace_id).where(tables.spans.c.kind == "llm")
        while time.monotonic() < deadline:
            found = set(store.read(lambda c: list(c.execute(query).scalars()))) & trace_ids
            if found == trace_ids:
                break
            time.sleep(0.1)
    finally:
        store.close()
    return found


def run_batch(url: str, lines: int) -> tuple[Any, str]:
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key=ADMIN, max_retries=0)
    rows = [
        json.dumps(
            {
                "custom_id": f"r{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt", "messages": [{"role": "user", "content": f"line {i}"}]},
            }
        )
        for i in range(lines)
    ]
    uploaded = sdk.files.create(file=("in.jsonl", "\n".join(rows).encode()), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    deadline = time.monotonic() + 60
    while batch.status != "completed":
        assert time.monotonic() < deadline, f"batch stuck: {batch.status} {batch.request_counts}"
        time.sleep(0.1)
        batch = sdk.batches.retrieve(batch.id)
    assert batch.output_file_id is not None
    return batch, sdk.files.content(batch.output_file_id).text


def test_two_replicas_and_a_worker_share_everything(topology: Topology, redis_prefix: str) -> None:
    with FakeProvider(latency=0.02) as fake:
        write_config(
            topology.config,
            fake,
            topology.database_url,
            redis_prefix,
            models=[topology_alias(fake), exact_alias(fake)],
        )
        first, second = topology.gateway("a"), topology.gateway("b")
        worker = topology.worker()
        for process in (first, second, worker):
            process.wait_ready()
        urls = [first.url, second.url]

        # every request answered, every answer traced
        responses = asyncio.run(load(urls, REQUESTS, concurrency=32))
        assert Counter(r.status_code for r in responses) == {200: REQUESTS}
        traced = {r.headers["x-llmdeck-trace-id"] for r in responses}
        assert len(traced) == REQUESTS
        assert wait_for_spans(topology, traced) == traced

        # one rate limit across both replicas (the window is a minute: nothing slides out)
        _, secret = create_key(first.url, name="rated", rpm=25)
        statuses = asyncio.run(burst(urls, secret, count=60, concurrency=20))
        assert statuses.count(200) == 25 and statuses.count(429) == 35

        # one budget across both: a burst of 60 against a budget that covers 12
        budgeted, secret = create_key(first.url, name="budget", budget=12 * COST, period="month")
        statuses = asyncio.run(burst(urls, secret, count=60, concurrency=60))
        assert statuses.count(200) == 12 and statuses.count(429) == 48

        # a batch split across the three processes that work jobs, each line run once
        batch, output = run_batch(first.url, LINES)
        contents = [
            r.body["messages"][0]["content"]
            for r in fake.requests
            if r.path.endswith("/completions")
        ]
        sent = Counter(c for c in contents if c.startswith("line "))
    assert sent == Counter(f"line {i}" for i in range(LINES))
    answered = Counter(json.loads(r)["custom_id"] for r in output.splitlines())
    assert answered == Counter(f"r{i}" for i in range(LINES))
    assert batch.request_counts is not None and batch.request_counts.completed == LINES
    store = topology.store()
    try:
        workers = store.read(
            lambda c: c.execute(
                select(func.count(func.distinct(tables.batch_lines.c.worker))).where(
                    tables.batch_lines.c.batch_id == batch.id
                )
            ).scalar()
        )
    finally:
        store.close()
    assert workers >= 2  # the batch was shared, not run by one process


def topology_alias(fake: FakeProvider) -> dict[str, Any]:
    deployment = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "model": "m",
        "name": "fake",
        "price": {"input": 1.0, "output": 2.0},
    }
    return {"name": "gpt", "deployments": [deployment]}
