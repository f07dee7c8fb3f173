"""RAG and HTTP targets over real HTTP: the RAG query contract (answer, citations, chunks) feeds
the RAG metrics; a 429 with Retry-After pauses every worker, and no item is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llmdeck.evals import parse_suite
from llmdeck.evals.local import local_evals

from .conftest import eval_settings, write_jsonl

DOCS = {
    "spiders": "A spider has eight legs. Spiders spin silk.",
    "insects": "An insect has six legs. Ants are insects.",
    "birds": "Birds have two legs and feathers.",
}


class ContractServer:
    """A server speaking DESIGN.md's `POST /api/rag/query` (keyword retrieval) and a plain
    answering endpoint that sends one 429 with Retry-After first."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self.traceparents: list[str] = []
        self.limited = False
        app = Starlette(routes=[
            Route("/api/rag/query", self.rag, methods=["POST"]),
            Route("/answer", self.answer, methods=["POST"]),
        ])  # fmt: skip
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def rag(self, request: Request) -> JSONResponse:
        body = await request.json()
        words = set(body["query"].lower().replace("?", "").split())
        ranked = sorted(DOCS, key=lambda d: -len(words & set(DOCS[d].lower().split())))
        chunks = [
            {"id": f"{d}#0", "document_id": d, "score": 1.0 / (i + 1), "text": DOCS[d],
             "metadata": {}}
            for i, d in enumerate(ranked[: body["k"]])
        ]  # fmt: skip
        answer = chunks[0]["text"].split(". ")[0] + "."
        return JSONResponse({"answer": answer, "citations": [chunks[0]["id"]], "chunks": chunks})

    async def answer(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append((time.monotonic(), body["input"]))
        self.traceparents.append(request.headers.get("traceparent", ""))
        if not self.limited:
            self.limited = True
            return JSONResponse({"error": "slow down"}, 429, headers={"retry-after": "1"})
        return JSONResponse({"output": f"answer to {body['input']}"})

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
def contract() -> Iterator[ContractServer]:
    server = ContractServer()
    server.thread.start()
    while not server.server.started:
        time.sleep(0.01)
    yield server
    server.server.should_exit = True
    server.thread.join(5)


def test_rag_target_and_metrics(tmp_path: Path, contract: ContractServer) -> None:
    rows = [
        {"id": "r1", "input": "How many legs does a spider have?", "expected": "eight legs",
         "relevant_ids": ["spiders"]},
        {"id": "r2", "input": "How many legs does an insect have?",
         "expected": "An insect has six legs."},
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "rag.jsonl", rows)
    suite = parse_suite(
        f"name: rag\ndataset: {data}\ntarget: {{rag: docs, k: 2, url: '{contract.url}'}}\n"
        "evaluators: [contains, context_precision, context_recall, faithfulness]\n",
        str(tmp_path / "s.yaml"),
    )

    async def scenario() -> Any:
        async with local_evals(eval_settings(tmp_path / "home")) as evals:
            return await evals.run_suite(suite)

    outcome = asyncio.run(scenario())
    results = {r.item_id: r for r in outcome.run.results}
    spider = results["r1"]
    assert spider.output == "A spider has eight legs."
    assert spider.value("context_precision") == 1.0 and spider.value("context_recall") == 1.0
    assert spider.value("faithfulness") == 1.0 and spider.value("contains") == 1.0
    insect = results["r2"]
    assert insect.value("context_recall") == 1.0  # judged: the chunks support the answer
    assert insect.value("context_precision") is None  # no ids and no judge model answer
    assert outcome.scores["context_precision"].unmeasured == 1


def test_429_pauses_every_worker_then_all_items_finish(
    tmp_path: Path, contract: ContractServer
) -> None:
    rows = [{"id": f"h{i}", "input": f"q{i}", "expected": f"answer to q{i}"} for i in range(6)]
    data = write_jsonl(tmp_path / "http.jsonl", rows)
    suite = parse_suite(
        f"name: http\ndataset: {data}\ntarget: {{http: '{contract.url}/answer'}}\n"
        "evaluators: [exact_match]\nconcurrency: 3\n",
        str(tmp_path / "s.yaml"),
    )

    async def scenario() -> Any:
        async with local_evals(eval_settings(tmp_path / "home")) as evals:
            return await evals.run_suite(suite)

    outcome = asyncio.run(scenario())
    assert outcome.scores["exact_match"].mean == 1.0 and outcome.errors == 0
    first_refused = contract.calls[0][0]
    later = [t for t, _ in contract.calls[1:]]
    # the refused item waited its Retry-After; so did the workers that had not started yet
    assert len(later) == 6
    assert sum(1 for t in later if t - first_refused >= 0.9) >= 4
    # each request carried its item's trace, so the endpoint's own spans can join it
    traces = {r.trace_id for r in outcome.run.results}
    assert {p.split("-")[1] for p in contract.traceparents} == traces
