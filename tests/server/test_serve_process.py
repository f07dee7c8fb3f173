"""`llmdeck serve` as its own process: the real command, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from llmdeck.store import open_store, tables
from llmdeck.testing import FakeProvider, free_port


def start_serve(config: Path, home: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LLMDECK_HOME": str(home)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmdeck",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode() if process.stdout else "exited")
    process.kill()
    raise RuntimeError("llmdeck serve did not start")


@pytest.mark.slow
def test_no_recorded_call_is_lost_across_a_clean_shutdown_under_load(tmp_path: Path) -> None:
    with FakeProvider() as fake:
        config = tmp_path / "llmdeck.yaml"
        config.write_text(
            "models:\n  - name: gpt\n    deployments:\n"
            f"      - {{provider: openai, model: m, api_base: '{fake.openai_base}'}}\n"
        )
        port = free_port()
        process = start_serve(config, tmp_path / "home", port)
        answered = asyncio.run(_load(f"http://127.0.0.1:{port}", requests=1500, concurrency=32))
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown: -15 is a clean stop
        assert process.wait(30) in (0, -signal.SIGTERM)
    store = open_store(f"sqlite:///{tmp_path / 'home' / 'llmdeck.db'}")
    try:
        recorded = store.read(
            lambda c: c.execute(select(func.count()).select_from(tables.spans)).scalar()
        )
    finally:
        store.close()
    assert answered == 1500
    assert recorded == answered


async def _load(url: str, *, requests: int, concurrency: int) -> int:
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    done = 0
    queue = list(range(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker() -> None:
            nonlocal done
            while queue:
                queue.pop()
                response = await client.post("/v1/chat/completions", json=body)
                done += response.status_code == 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def test_serve_refuses_a_public_interface_without_keys(tmp_path: Path) -> None:
    env = {**os.environ, "LLMDECK_HOME": str(tmp_path)}
    env.pop("LLMDECK_ADMIN_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "llmdeck", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0 with no keys" in result.stderr
