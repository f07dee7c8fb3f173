"""An evaluation suite against a real llmdeck server's RAG pipeline: the documents are ingested
through /api/rag, each item's question goes to /api/rag/query, and the RAG metrics read the
chunks and answer that the pipeline returned."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmdeck.evals import parse_suite
from llmdeck.evals.local import local_evals
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread
from tests.rag.conftest import rag_settings

from .conftest import eval_settings, write_jsonl

RECORDS = [
    {"id": "spiders", "title": "Spiders", "text": "A spider has eight legs. Spiders spin silk."},
    {"id": "insects", "title": "Insects", "text": "An insect has six legs. Ants are insects."},
    {"id": "birds", "title": "Birds", "text": "Birds have two legs and feathers."},
]


def _ingest(server: ServerThread) -> None:
    started = httpx.post(f"{server.url}/api/rag/ingest", json={"collection": "animals"})
    assert started.status_code == 202, started.text
    run = started.json()
    deadline = time.monotonic() + 60
    while run["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        run = httpx.get(f"{server.url}/api/rag/ingest/{run['id']}").json()
    assert run["status"] == "done" and run["written"] == 3, run


def test_suite_scores_a_live_rag_pipeline(tmp_path: Path, fake: FakeProvider) -> None:
    corpus = tmp_path / "animals.jsonl"
    corpus.write_bytes(b"\n".join(orjson.dumps(r) for r in RECORDS))
    # the fake embeds by hashing, so retrieval leans on keywords, which mean something here
    retrieval = {"k": 2, "fusion": "weighted", "alpha": 0.1}
    pipelines = {"animals": {"source": str(corpus), "retrieval": retrieval}}
    settings = rag_settings(tmp_path / "server", fake, rag={"pipelines": pipelines})
    rows = [
        {"id": "q1", "input": "How many legs does a spider have?", "expected": "eight legs",
         "relevant_ids": ["spiders"]},
        {"id": "q2", "input": "How many legs does an insect have?", "expected": "six legs",
         "relevant_ids": ["insects"]},
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "rag.jsonl", rows)
    (tmp_path / "server").mkdir()
    with ServerThread(settings) as server:
        _ingest(server)
        suite = parse_suite(
            f"name: animals\ndataset: {data}\ntarget: {{rag: animals, k: 2, url: '{server.url}'}}\n"
            "evaluators: [contains, context_recall, faithfulness]\n",
            str(tmp_path / "suite.yaml"),
        )

        async def scenario() -> Any:
            async with local_evals(eval_settings(tmp_path / "evals")) as evals:
                return await evals.run_suite(suite)

        outcome = asyncio.run(scenario())
    results = {r.item_id: r for r in outcome.run.results}
    assert outcome.errors == 0
    assert "eight legs" in (results["q1"].output or "")
    assert "six legs" in (results["q2"].output or "")
    for result in results.values():
        assert result.value("contains") == 1.0
        assert result.value("context_recall") == 1.0  # the relevant document was retrieved
        assert result.value("faithfulness") == 1.0  # the extractive answer quotes its context
