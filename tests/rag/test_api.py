"""/api/rag over real HTTP: ingestion as a job, retrieve and query shapes, streaming, auth,
readiness, and each degradation path against the fake provider with faults injected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import rag_settings

ADMIN = {"authorization": "Bearer admin-secret"}
JUDGED = '{"order": [3, 1]}'  # the LLM reranker's reply: the third candidate first


def _models(fake: FakeProvider) -> list[dict[str, Any]]:
    base = {"provider": "openai", "api_base": fake.openai_base}
    failing = {**base, "headers": FakeProvider.header(status=500)}
    local = {"provider": "local", "model": "extractive"}
    slow = {**base, "headers": FakeProvider.header(latency=5)}
    return [
        {"name": "chat", "deployments": [local]},
        {"name": "embed", "deployments": [{**base, "model": "fake-embed"}]},
        # the first deployment fails; the router fails over to the local model
        {"name": "chat-flaky", "deployments": [{**failing, "model": "bad", "name": "bad"}, local]},
        {"name": "chat-down", "deployments": [{**failing, "model": "down", "name": "down-1"}]},
        {"name": "chat-slow", "deployments": [{**slow, "model": "slow", "name": "slow-1"}]},
        {
            "name": "judge",
            "deployments": [
                {
                    **base,
                    "model": "judge",
                    "name": "judge-1",
                    "headers": FakeProvider.header(reply=JUDGED),
                }
            ],
        },
    ]


KEYWORDS = {"k": 2, "candidates": 3, "fusion": "weighted", "alpha": 0.1}


@pytest.fixture
def server(home: Path, fake: FakeProvider, corpus: Path) -> Iterator[ServerThread]:
    pipelines = {
        # the fake embeds by hashing: weigh the words, which mean something here
        "geo": {"source": str(corpus), "retrieval": {"k": 3, "fusion": "weighted", "alpha": 0.1}},
        "geo-flaky": {"collection": "geo", "answer": "chat-flaky"},
        "geo-down": {"collection": "geo", "answer": "chat-down"},
        "geo-llm": {
            "collection": "geo",
            "retrieval": {**KEYWORDS, "rerank": "llm", "rerank_model": "judge"},
        },
        "geo-unreadable": {"collection": "geo", "retrieval": {**KEYWORDS, "rerank": "llm"}},
        "geo-slow": {"collection": "geo", "answer": "chat-slow", "timeouts": {"answer": 0.3}},
        "geo-prompted": {"collection": "geo", "prompt": {"name": "geo-answer", "label": "live"}},
        "geo-mmr": {"collection": "geo", "retrieval": {**KEYWORDS, "rerank": "mmr", "k": 3}},
    }
    settings = rag_settings(
        home, fake, admin_key="admin-secret", models=_models(fake), rag={"pipelines": pipelines}
    )
    with ServerThread(settings) as running:
        yield running


def _post(server: ServerThread, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers=kw.pop("headers", ADMIN), timeout=30)


def _ingest(server: ServerThread) -> dict[str, Any]:
    started = _post(server, "/api/rag/ingest", {"collection": "geo"})
    assert started.status_code == 202, started.text
    run = started.json()
    deadline = time.monotonic() + 30
    while run["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        run = httpx.get(f"{server.url}/api/rag/ingest/{run['id']}", headers=ADMIN).json()
    assert run["status"] == "done", run
    return run


def test_ingest_retrieve_query_and_stream(server: ServerThread, fake: FakeProvider) -> None:
    run = _ingest(server)
    assert run["written"] == 7 and run["chunks"] >= 7 and len(run["problems"]) == 2
    ingest_trace = _trace_named(server, "rag.ingest")
    root = ingest_trace["spans"][0]
    assert root["output"]["written"] == 7 and root["attributes"]["embed_s"] >= 0
    assert any(s["kind"] == "embedding" for s in ingest_trace["spans"])  # batches, traced
    listed = httpx.get(server.url + "/api/rag/ingest", headers=ADMIN).json()["runs"]
    assert listed[0]["id"] == run["id"]

    body = {"collection": "geo", "query": "Which volcano in Sicily is active?", "k": 2}
    found = _post(server, "/api/rag/retrieve", body)
    assert found.status_code == 200, found.text
    chunks = found.json()["chunks"]
    assert len(chunks) == 2 and chunks[0]["document_id"] == "volcanoes.html"
    assert set(chunks[0]) == {"id", "document_id", "score", "text", "metadata"}
    assert found.json()["degraded"] == []

    answered = _post(server, "/api/rag/query", {**body, "query": "What is Mount Etna?"})
    result = answered.json()
    assert answered.status_code == 200, answered.text
    assert "Mount Etna in Sicily" in result["answer"]
    cited = result["citations"][0]
    assert cited["document_id"] == "volcanoes.html" and cited["cited"] is True
    assert cited["end"] > cited["start"] >= 0
    assert {c["id"] for c in result["chunks"]} >= {cited["chunk_id"]}
    assert 0 <= result["grounded_risk"] < 0.5
    assert {"retrieve", "answer", "grounded"} <= set(result["timings"])
    assert answered.headers["x-llmdeck-trace-id"] == result["trace_id"]

    events = _stream(server, {**body, "query": "What is Mount Etna?", "stream": True})
    assert events[0]["type"] == "retrieval" and events[-1]["type"] == "done"
    deltas = "".join(e["content"] for e in events if e["type"] == "delta")
    assert deltas == events[-1]["answer"] == result["answer"]

    trace = _trace(server, result["trace_id"])
    names = {s["name"] for s in trace["spans"]}
    assert {"rag.query", "retrieve", "answer", "grounded"} <= names
    assert any(s["kind"] == "embedding" for s in trace["spans"])  # the question's embedding
    assert any(s["kind"] == "llm" for s in trace["spans"])  # the answer's gateway call


def _stream(server: ServerThread, body: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    with httpx.stream("POST", server.url + "/api/rag/query", json=body, headers=ADMIN) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(orjson.loads(line[6:]))
    return events


def _trace(server: ServerThread, trace_id: str, spans: int = 5) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found = httpx.get(f"{server.url}/api/traces/{trace_id}", headers=ADMIN)
        if found.status_code == 200 and found.json()["span_count"] >= spans:
            trace = dict(found.json())
            trace["spans"] = list(_flat(trace["spans"]))
            return trace
        assert time.monotonic() < deadline, found.text
        time.sleep(0.1)


def _trace_named(server: ServerThread, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found = httpx.get(f"{server.url}/api/traces", params={"name": name}, headers=ADMIN)
        traces = found.json()["data"] if found.status_code == 200 else []
        if traces:
            return _trace(server, traces[0]["id"], spans=2)
        assert time.monotonic() < deadline, found.text
        time.sleep(0.1)


def _flat(spans: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for span in spans:
        yield span
        yield from _flat(span.get("children") or [])


def test_requests_are_checked(server: ServerThread) -> None:
    body = {"collection": "geo", "query": "tides"}
    assert _post(server, "/api/rag/query", body, headers={}).status_code == 401
    missing = _post(server, "/api/rag/query", {**body, "collection": "nowhere"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "collection_not_found"
    bad = _post(server, "/api/rag/retrieve", {"collection": "geo", "query": "x", "k": 0})
    assert bad.status_code == 400 and "k" in bad.json()["error"]["message"]
    no_source = _post(server, "/api/rag/ingest", {"collection": "other"})
    assert no_source.status_code == 400 and "no source" in no_source.json()["error"]["message"]
    unknown = httpx.get(server.url + "/api/rag/ingest/nope", headers=ADMIN)
    assert unknown.status_code == 404


def test_embedding_down_degrades_to_keyword_search(
    server: ServerThread, fake: FakeProvider
) -> None:
    _ingest(server)
    fake.set(status=503)  # every embedding request fails from now on
    body = {"collection": "geo", "query": "What is Mount Etna?"}
    answered = _post(server, "/api/rag/query", body)
    assert answered.status_code == 200, answered.text
    result = answered.json()
    assert result["degraded"] == ["embedding"] and result["mode"] == "keyword"
    assert "Mount Etna" in result["answer"]
    root = next(s for s in _trace(server, result["trace_id"])["spans"] if s["name"] == "rag.query")
    assert root["attributes"]["degraded"] == ["embedding"]
    ready = httpx.get(server.url + "/health/ready").json()["components"]["rag"]
    assert ready["ready"] is True


def test_answer_model_fails_over_then_errors_clearly(server: ServerThread) -> None:
    _ingest(server)
    body = {"collection": "geo-flaky", "query": "What is Mount Etna?"}
    flaky = _post(server, "/api/rag/query", body)
    assert flaky.status_code == 200 and "Mount Etna" in flaky.json()["answer"]
    down = _post(server, "/api/rag/query", {**body, "collection": "geo-down"})
    assert down.status_code in (502, 503), down.text
    assert "down-1" in down.json()["error"]["message"]


def test_readiness_reports_each_stage(server: ServerThread) -> None:
    _ingest(server)
    ready = httpx.get(server.url + "/health/ready").json()["components"]["rag"]
    assert ready["pipelines"]["geo"] == {"store": "ok", "embedding": "ok", "answer": "ok"}


def test_vector_store_down_is_a_clear_503(home: Path, fake: FakeProvider) -> None:
    dead = "postgresql://postgres@127.0.0.1:9/nothing"  # nothing listens on the discard port
    settings = rag_settings(
        home,
        fake,
        vectors={"backend": "pgvector", "url": dead, "quality_interval": 0},
        rag={"pipelines": {"geo": {}}},
    )
    with ServerThread(settings) as server:
        with pytest.raises(Exception, match="(?i)connect|refused"):
            server.runtime.vectors.vectors.create("geo", dim=16)  # recorded, then unreachable
        body = {"collection": "geo", "query": "volcanoes"}
        for path in ("/api/rag/retrieve", "/api/rag/query"):
            down = _post(server, path, body, headers={})
            assert down.status_code == 503, down.text
            error = down.json()["error"]
            assert error["code"] == "vector_store_unavailable" and "'geo'" in error["message"]
        ready = httpx.get(server.url + "/health/ready")
        assert ready.status_code == 200  # the gateway still serves
        rag = ready.json()["components"]["rag"]
        assert rag["degraded"] is True
        assert rag["pipelines"]["geo"]["store"].startswith("down: vector store unavailable")


def test_reranking(server: ServerThread) -> None:
    _ingest(server)
    question = "Which volcano in Sicily is active on the Moon or Earth?"
    plain = _post(server, "/api/rag/retrieve", {"collection": "geo", "query": question, "k": 3})
    order = [c["id"] for c in plain.json()["chunks"]]
    assert len(order) == 3
    judged = _post(server, "/api/rag/retrieve", {"collection": "geo-llm", "query": question})
    assert [c["id"] for c in judged.json()["chunks"]] == [order[2], order[0]]
    assert "rerank" in judged.json()["timings"] and judged.json()["degraded"] == []
    unreadable = _post(
        server, "/api/rag/retrieve", {"collection": "geo-unreadable", "query": question}
    )
    assert unreadable.json()["degraded"] == ["rerank"]
    assert [c["id"] for c in unreadable.json()["chunks"]] == order[:2]
    mmr = _post(server, "/api/rag/retrieve", {"collection": "geo-mmr", "query": question})
    assert sorted(c["id"] for c in mmr.json()["chunks"]) == sorted(order)


def test_runs_left_by_a_dead_process_are_marked_interrupted(home: Path, fake: FakeProvider) -> None:
    settings = rag_settings(home, fake)
    with ServerThread(settings) as first:
        orphan = first.runtime.rag.runs.create("geo", "/nowhere", status="running")
    with ServerThread(settings) as second:  # in-process jobs: nothing else could run it
        found = httpx.get(f"{second.url}/api/rag/ingest/{orphan}").json()
        assert found["status"] == "interrupted" and found["finished_at"] is not None


def test_a_stage_over_its_timeout_is_a_504(server: ServerThread) -> None:
    _ingest(server)
    # the slow deployment answers after 5 s: a 504 means the 0.3 s answer timeout cut it off
    slow = _post(server, "/api/rag/query", {"collection": "geo-slow", "query": "What is Etna?"})
    assert slow.status_code == 504 and slow.json()["error"]["code"] == "answer_timeout"


def test_a_registered_prompt_answers(server: ServerThread) -> None:
    _ingest(server)
    spec = {
        "name": "geo-answer",
        "messages": [
            {"role": "system", "content": "Sources:\n{{ context }}"},
            {"role": "user", "content": "{{ question }}"},
        ],
        "variables": {"question": "string", "context": "string"},
        "labels": ["live"],
    }
    assert _post(server, "/api/prompts", spec).status_code == 201
    body = {"collection": "geo-prompted", "query": "What is Mount Etna?"}
    answered = _post(server, "/api/rag/query", body)
    assert answered.status_code == 200, answered.text
    result = answered.json()
    assert "Mount Etna in Sicily" in result["answer"]
    llm = next(s for s in _trace(server, result["trace_id"])["spans"] if s["kind"] == "llm")
    assert llm["prompt_name"] == "geo-answer" and llm["prompt_version"] == 1
    assert llm["input"][0]["content"].startswith("Sources:\n[1] ")


@pytest.mark.postgres
def test_ingestion_jobs_on_the_postgres_queue(
    home: Path, fake: FakeProvider, corpus: Path, postgres_url: str
) -> None:
    pipelines = {"geo": {"source": str(corpus)}}
    settings = rag_settings(
        home,
        fake,
        database_url=postgres_url,
        admin_key="admin-secret",
        rag={"pipelines": pipelines},
    )
    with ServerThread(settings) as server:
        assert server.runtime.jobs.backend == "postgres"
        run = _ingest(server)
        assert run["written"] == 7 and run["chunks"] >= 7
        again = _ingest(server)
        assert again["skipped"] == 7 and again["embedded"] == 0


def test_an_ingestion_that_fails_upstream_is_retried(
    home: Path, fake: FakeProvider, corpus: Path
) -> None:
    settings = rag_settings(
        home,
        fake,
        jobs={"backoff": 1.0, "max_attempts": 5},
        rag={"pipelines": {"geo": {"source": str(corpus)}}},
    )
    with ServerThread(settings) as server:
        fake.set(status=503)  # the embedding endpoint is down
        run = _post(server, "/api/rag/ingest", {"collection": "geo"}, headers={}).json()
        deadline = time.monotonic() + 20
        while run["status"] != "failed":
            assert time.monotonic() < deadline, run
            time.sleep(0.02)
            run = httpx.get(f"{server.url}/api/rag/ingest/{run['id']}").json()
        assert "embed-0" in run["error"]  # the deployment tried is named
        fake.reset()  # back up: the queue's retry finishes the run
        while run["status"] != "done":
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
            run = httpx.get(f"{server.url}/api/rag/ingest/{run['id']}").json()
        assert run["written"] == 7 and run["error"] is None
