"""The official openai SDK drives the Files and Batch APIs end to end against the fake
provider: upload, create, poll, download the output and error files; cancel; list; owners."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select
from tests.cache.conftest import ADMIN_KEY, keyed_server

from llmdeck.config import Settings
from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

DONE = ("completed", "failed", "expired", "cancelled")


def line(custom_id: str, content: str, model: str = "gpt", **body: Any) -> str:
    request = {"model": model, "messages": [{"role": "user", "content": content}], **body}
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": request}
    )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_provider_server: FakeProvider
) -> Iterator[ServerThread]:
    oa = {"provider": "openai", "api_base": fake_provider_server.openai_base, "api_key": "sk-x"}
    price = {"input": 1.0, "output": 2.0}
    models = [
        {"name": "gpt", "deployments": [{**oa, "model": "fake-chat", "price": price}]},
        {"name": "vectors", "deployments": [{**oa, "model": "fake-embedding"}]},
    ]
    settings = Settings.model_validate(
        {
            "home": tmp_path_factory.mktemp("home"),
            "models": models,
            "admin_key": ADMIN_KEY,
            "batch": {"poll_interval": 0.05, "concurrency": 3},
        }
    )
    with keyed_server(settings) as running:
        yield running


def client(server: ServerThread, key: str = ADMIN_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=20)


def wait(sdk: openai.OpenAI, batch_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    batch = sdk.batches.retrieve(batch_id)
    while batch.status not in DONE:
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.05)
        batch = sdk.batches.retrieve(batch_id)
    return batch


def submit(sdk: openai.OpenAI, content: bytes, endpoint: Any = "/v1/chat/completions") -> Any:
    """Upload `content`, run it as a batch, and wait for the end."""
    uploaded = sdk.files.create(file=("in.jsonl", content), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h"
    )
    return wait(sdk, batch.id)


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(row) for row in text.splitlines() if row.strip()]


def test_a_batch_end_to_end(server: ServerThread, fake: FakeProvider) -> None:
    sdk = client(server)
    rows = [line(f"q{i}", f"question {i}") for i in range(6)]
    rows.insert(2, "{this is not json")
    rows.append(line("unknown-model", "x", model="nope"))
    rows.append(
        json.dumps({"custom_id": "wrong-url", "method": "POST", "url": "/v1/x", "body": {}})
    )
    rows.append(line("q0", "duplicate id"))
    uploaded = sdk.files.create(file=("in.jsonl", "\n".join(rows).encode()), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes > 0 and uploaded.status == "processed"
    batch = sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert batch.status == "validating" and batch.metadata == {"job": "nightly"}
    batch = wait(sdk, batch.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (10, 6)
    assert batch.request_counts.failed == 4
    assert batch.completed_at and batch.in_progress_at and batch.output_file_id
    output = jsonl(sdk.files.content(batch.output_file_id).text)
    assert sorted(r["custom_id"] for r in output) == [f"q{i}" for i in range(6)]
    for record in output:
        assert record["id"].startswith("batch_req_") and record["error"] is None
        body = record["response"]["body"]
        assert record["response"]["status_code"] == 200
        assert (
            body["choices"][0]["message"]["content"] == f"echo: question {record['custom_id'][1:]}"
        )
    assert batch.error_file_id
    errors = {
        (r["custom_id"], r["error"]["code"] if r["error"] else r["response"]["status_code"])
        for r in jsonl(sdk.files.content(batch.error_file_id).text)
    }
    assert errors == {
        (None, "invalid_json"),
        ("unknown-model", 404),
        ("wrong-url", "mismatched_url"),
        ("q0", "duplicate_custom_id"),
    }
    assert sum(1 for r in fake.requests if r.path == "/v1/chat/completions") >= 6
    assert sdk.files.retrieve(batch.output_file_id).purpose == "batch_output"


def test_batch_lines_are_traced_with_the_batch_id(server: ServerThread) -> None:
    sdk = client(server)
    batch = submit(sdk, line("t1", "traced").encode())
    assert batch.status == "completed"
    (record,) = jsonl(sdk.files.content(batch.output_file_id).text)
    server.runtime.recorder.flush()
    spans = tables.spans
    query = select(spans).where(spans.c.trace_id == record["response"]["request_id"])
    row = server.runtime.store.read(lambda conn: conn.execute(query).one())
    assert row.attributes["batch_id"] == batch.id
    assert row.attributes["batch_custom_id"] == "t1"
    assert row.cost > 0 and getattr(batch, "cost_usd") == pytest.approx(row.cost)  # noqa: B009


def test_embeddings_batch(server: ServerThread) -> None:
    sdk = client(server)
    request = {"model": "vectors", "input": "embed me"}
    row = {"custom_id": "e1", "method": "POST", "url": "/v1/embeddings", "body": request}
    batch = submit(sdk, json.dumps(row).encode(), "/v1/embeddings")
    (record,) = jsonl(sdk.files.content(batch.output_file_id).text)
    assert len(record["response"]["body"]["data"][0]["embedding"]) == 16


def test_an_unreadable_file_fails_the_batch(server: ServerThread) -> None:
    sdk = client(server)
    batch = submit(sdk, b"\n\n")
    assert batch.status == "failed"
    assert batch.errors is not None and batch.errors.data is not None
    assert batch.errors.data[0].code == "empty_file"


def test_cancel(server: ServerThread, fake: FakeProvider) -> None:
    sdk = client(server)
    rows = [line(f"c{i}", f"slow {i}") for i in range(30)]
    uploaded = sdk.files.create(file=("c.jsonl", "\n".join(rows).encode()), purpose="batch")
    fake.set(latency=0.2)
    try:
        batch = sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        while sdk.batches.retrieve(batch.id).status == "validating":
            time.sleep(0.02)
        cancelling = sdk.batches.cancel(batch.id)
        assert cancelling.status == "cancelling"
        batch = wait(sdk, batch.id)
    finally:
        fake.reset()
    assert batch.status == "cancelled" and batch.cancelled_at
    counts = batch.request_counts
    assert counts is not None and counts.total == 30 and counts.completed < 30


def test_bad_requests_name_the_field(server: ServerThread) -> None:
    sdk = client(server)
    with pytest.raises(openai.NotFoundError, match="file"):
        sdk.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    uploaded = sdk.files.create(file=("x.jsonl", b"{}"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/completions", completion_window="24h"
        )  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="1h"
        )  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="purpose"):
        sdk.files.create(file=("x.jsonl", b"{}"), purpose="fine-tune")
    response = httpx.post(
        f"{server.url}/v1/files",
        json={"purpose": "batch"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 400 and "multipart" in response.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_nope")


def test_files_and_batches_belong_to_their_key(server: ServerThread) -> None:
    alice, bob, admin = client(server, "sk-alice"), client(server, "sk-bob"), client(server)
    uploaded = alice.files.create(file=("a.jsonl", line("a", "mine").encode()), purpose="batch")
    with pytest.raises(openai.NotFoundError):
        bob.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        bob.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.id not in [b.id for b in bob.batches.list()]
    assert batch.id in [b.id for b in alice.batches.list()]
    assert admin.batches.retrieve(batch.id).id == batch.id
    wait(alice, batch.id)
    assert uploaded.id in [f.id for f in alice.files.list(purpose="batch")]
    assert alice.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(uploaded.id)


def test_list_pages(server: ServerThread) -> None:
    sdk = client(server, "sk-carol")
    uploaded = sdk.files.create(file=("p.jsonl", line("p", "page").encode()), purpose="batch")
    made = [
        sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        for _ in range(3)
    ]
    first = sdk.batches.list(limit=2)
    assert [b.id for b in first.data] == made[::-1][:2] and first.has_more
    assert [b.id for b in sdk.batches.list(limit=2).iter_pages().__next__().data] == made[::-1][:2]
    assert [b.id for b in sdk.batches.list(limit=2)] == made[::-1]  # auto-pagination


def test_output_file_is_served_as_jsonl(server: ServerThread, tmp_path: Path) -> None:
    sdk = client(server)
    batch = submit(sdk, line("o", "download").encode())
    target = tmp_path / "out.jsonl"
    sdk.files.content(batch.output_file_id).write_to_file(target)
    assert jsonl(target.read_text())[0]["custom_id"] == "o"
