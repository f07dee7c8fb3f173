"""A batch survives its server: `llmdeck serve` stopped mid-batch (SIGTERM, then SIGKILL) and
started again finishes the batch with every line answered exactly once.

Upstream requests are counted at the fake by their text. A graceful stop drains the lines in
flight, so no line reaches the fake twice. A SIGKILL loses the answers of the lines in flight
at that instant (the fake saw them, the server died before recording them); those, and only
those, are sent again after their lease runs out. No finished line is ever sent again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import select
from tests.server.test_serve_process import start_serve

from llmdeck.store import open_store, tables
from llmdeck.testing import FakeProvider, free_port

LINES = 60
CONCURRENCY = 4


def config(path: Path, fake: FakeProvider) -> Path:
    path.write_text(
        "models:\n"
        "  - name: gpt\n"
        f"    deployments: [{{provider: openai, model: m, api_base: '{fake.openai_base}'}}]\n"
        f"batch: {{concurrency: {CONCURRENCY}, lease: 1.0, poll_interval: 0.1}}\n"
    )
    return path


def line_statuses(home: Path) -> dict[str, str]:
    store = open_store(f"sqlite:///{home / 'llmdeck.db'}", run_migrations=False)
    try:
        query = select(tables.batch_lines.c.custom_id, tables.batch_lines.c.status)
        return {row.custom_id: row.status for row in store.read(lambda c: list(c.execute(query)))}
    finally:
        store.close()


def wait_for(sdk: openai.OpenAI, batch_id: str, done: int, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = sdk.batches.retrieve(batch_id)
        counts = batch.request_counts
        if batch.status == "completed" or (counts is not None and counts.completed >= done):
            return batch
        assert time.monotonic() < deadline, f"batch stuck at {counts}"
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    process.send_signal(how)
    process.wait(30)


@pytest.mark.slow
def test_a_batch_survives_a_graceful_stop_and_a_kill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with FakeProvider(latency=0.1) as fake:
        yaml = config(tmp_path / "llmdeck.yaml", fake)
        port = free_port()
        process = start_serve(yaml, home, port)
        sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        rows = [
            json.dumps(
                {
                    "custom_id": f"r{i}",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {
                        "model": "gpt",
                        "messages": [{"role": "user", "content": f"line {i}"}],
                    },
                }
            )
            for i in range(LINES)
        ]
        uploaded = sdk.files.create(file=("in.jsonl", "\n".join(rows).encode()), purpose="batch")
        batch = sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        try:
            wait_for(sdk, batch.id, done=10)
            stop(process, signal.SIGTERM)  # drains the lines in flight
            after_term = line_statuses(home)
            process = start_serve(yaml, home, port)
            wait_for(sdk, batch.id, done=30)
            stop(process, signal.SIGKILL)  # loses the answers in flight
            after_kill = line_statuses(home)
            process = start_serve(yaml, home, port)
            finished = wait_for(sdk, batch.id, done=LINES)
            while finished.status != "completed":
                finished = wait_for(sdk, batch.id, done=LINES)
            output = sdk.files.content(finished.output_file_id).text
        finally:
            process.kill()
            process.wait(30)
        sent = Counter(
            r.body["messages"][0]["content"]
            for r in fake.requests
            if r.path.endswith("/completions")
        )

    assert "running" not in after_term.values()  # the graceful stop handed nothing back unanswered
    in_flight = {cid for cid, status in after_kill.items() if status == "running"}
    assert len(in_flight) <= CONCURRENCY
    answered = Counter(json.loads(r)["custom_id"] for r in output.splitlines())
    assert answered == Counter(f"r{i}" for i in range(LINES))  # each line exactly once
    assert finished.request_counts is not None and finished.request_counts.completed == LINES
    for i in range(LINES):
        expected = (1, 2) if f"r{i}" in in_flight else (1,)
        assert sent[f"line {i}"] in expected, (f"r{i}", sent[f"line {i}"], after_kill.get(f"r{i}"))
    assert sum(sent.values()) <= LINES + len(in_flight)
