"""Two `llmdeck serve` processes sharing the real Redis and one PostgreSQL schema enforce one rate
limit and one budget together, and a key revoked on one is refused by the other within a second.

Tolerance of the rate-limit check: admission happens a few milliseconds after a span's recorded
start, so the spans of admitted requests are counted in every window of `WINDOW - 0.2` seconds;
none may hold more than the limit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from tests.conftest import REDIS_URL

from llmdeck.store import open_store, tables
from llmdeck.testing import FakeProvider, free_port

from .conftest import ADMIN, create_key, knobs
from .test_limits_gateway import COST, IN, OUT, PRICE, TEXT

WINDOW = 3.0
RPM = 60
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def write_config(path: Path, fake: FakeProvider, database: str, prefix: str) -> None:
    deployment = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "model": "m",
        "name": "exact-dep",
        "price": PRICE,
        "headers": knobs(usage={"input_tokens": IN, "output_tokens": OUT}),
    }
    config = {
        "admin_key": ADMIN,
        "database_url": database,
        "redis_url": REDIS_URL,
        "state": {"prefix": prefix},
        "limits": {"window": WINDOW, "spend_flush": 0.2},
        "models": [{"name": "exact", "deployments": [deployment]}],
    }
    path.write_bytes(orjson.dumps(config))  # JSON is YAML


def start(config: Path, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDECK_")}
    env["LLMDECK_HOME"] = str(home)
    command = [sys.executable, "-m", "llmdeck", "serve", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
    raise RuntimeError("llmdeck serve did not become ready")


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str, redis_prefix: str) -> Iterator[list[str]]:
    with FakeProvider(latency=0.02) as fake:
        config = tmp_path / "llmdeck.yaml"
        write_config(config, fake, postgres_url, redis_prefix)
        started = [start(config, tmp_path / f"home{i}") for i in range(2)]
        try:
            for process, url in started:
                wait_ready(process, url)
            yield [url for _, url in started]
        finally:
            for process, _ in started:
                process.send_signal(signal.SIGTERM)
            for process, _ in started:
                process.wait(30)


async def burst(urls: list[str], secret: str, count: int, concurrency: int) -> list[int]:
    """`count` requests, `concurrency` at a time, alternating between the replicas."""
    body = {"model": "exact", "messages": [{"role": "user", "content": TEXT}], "max_tokens": OUT}
    headers = {"authorization": f"Bearer {secret}"}
    statuses: list[int] = []
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:

        async def one(i: int) -> None:
            async with gate:
                url = urls[i % len(urls)] + "/v1/chat/completions"
                statuses.append((await client.post(url, json=body)).status_code)

        await asyncio.gather(*(one(i) for i in range(count)))
    return statuses


async def hammer(urls: list[str], secret: str, seconds: float, workers: int) -> dict[int, int]:
    """Requests from `workers` loops for `seconds`; the count of each status."""
    body = {"model": "exact", "messages": [{"role": "user", "content": "hi"}]}
    counts: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {secret}"}) as c:

        async def loop(worker: int) -> None:
            sent = 0
            while time.monotonic() < deadline:
                url = urls[(worker + sent) % len(urls)] + "/v1/chat/completions"
                response = await c.post(url, json=body)
                if response.status_code == 429:
                    assert int(response.headers["retry-after"]) >= 1
                counts[response.status_code] = counts.get(response.status_code, 0) + 1
                sent += 1

        await asyncio.gather(*(loop(w) for w in range(workers)))
    return counts


def most_in_any_window(times: list[float], width: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def read(url: str, fn: Any) -> Any:
    store = open_store(url, run_migrations=False)
    try:
        return store.read(fn)
    finally:
        store.close()


def test_two_replicas_share_limits_budgets_and_revocations(
    replicas: list[str], postgres_url: str
) -> None:
    first, second = replicas

    # one rate limit across both
    rated, secret = create_key(first, name="ci-bot", rpm=RPM)
    counts = asyncio.run(hammer(replicas, secret, seconds=2 * WINDOW + 0.5, workers=8))
    time.sleep(1.5)  # the recorders write behind
    spans = read(
        postgres_url,
        lambda c: [
            (r.start_time, r.attributes)
            for r in c.execute(
                select(tables.spans.c.start_time, tables.spans.c.attributes).where(
                    tables.spans.c.key_id == rated, tables.spans.c.http_status == 200
                )
            )
        ],
    )
    admitted = [start for start, _ in spans]
    assert len(admitted) == counts[200]
    assert most_in_any_window(admitted, WINDOW - 0.2) <= RPM
    assert 2 * RPM <= counts[200] <= 3 * RPM
    assert counts[429] > counts[200]  # the load was well over the limit

    # one budget across both: a burst of 200 against a budget that covers 20
    budgeted, secret = create_key(first, name="batch", budget=20 * COST, period="month")
    statuses = asyncio.run(burst(replicas, secret, count=200, concurrency=200))
    assert statuses.count(200) == 20 and statuses.count(429) == 180
    spent = 0.0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = read(
            postgres_url,
            lambda c: c.execute(
                select(
                    func.sum(tables.spend_daily.c.requests), func.sum(tables.spend_daily.c.cost)
                ).where(tables.spend_daily.c.key_id == budgeted, tables.spend_daily.c.tag == "")
            ).one(),
        )
        if rows[0] == 20:
            spent = rows[1]
            break
        time.sleep(0.1)
    assert spent == pytest.approx(20 * COST)
    assert spent <= 20 * COST + 1e-9  # not a cent, not a nano-dollar over

    # a revocation on one replica reaches the other within a second
    key_id, secret = create_key(first, name="leaver")
    headers = {"authorization": f"Bearer {secret}"}
    body = {"model": "exact", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{second}/v1/chat/completions", json=body, headers=headers).is_success
    admin = {"authorization": f"Bearer {ADMIN}"}
    assert httpx.delete(f"{first}/api/keys/{key_id}", headers=admin).is_success
    revoked_at = time.monotonic()
    with httpx.Client(headers=headers) as client:
        while client.post(f"{second}/v1/chat/completions", json=body).status_code != 401:
            assert time.monotonic() - revoked_at < 1.0, "the other replica still accepts it"
            time.sleep(0.01)
