"""Retrieval: metadata filters (the request's and the pipeline's together) and dropping
near-identical chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmdeck.rag import Retrieval
from llmdeck.server import Runtime

KEYWORDS = {"fusion": "weighted", "alpha": 0.1}  # the fake embeds by hashing: weigh the words


def _retrieve(runtime: Runtime, collection: str, query: str, **kw: Any) -> Retrieval:
    work = runtime.rag.retrieve(collection, query, **kw)
    return asyncio.run_coroutine_threadsafe(work, runtime.embedder.loop).result()


def test_filters_and_dedup(make_runtime: Callable[..., Runtime], tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    text = "Glaciers carve valleys as they move slowly downhill under their own weight.\n"
    (folder / "glaciers.txt").write_text(text)
    (folder / "glaciers-copy.txt").write_text(text)  # near-identical: shown once
    (folder / "rivers.txt").write_text("Rivers carve valleys too, with water instead of ice.\n")
    pipelines = {
        "notes": {"retrieval": {**KEYWORDS, "k": 3}},
        "all": {"collection": "notes", "retrieval": {**KEYWORDS, "k": 3, "dedup": 0}},
        "rivers": {
            "collection": "notes",
            "retrieval": {**KEYWORDS, "filter": {"document_id": {"$ne": "glaciers.txt"}}},
        },
    }
    runtime = make_runtime(rag={"pipelines": pipelines})
    runtime.rag.ingest("notes", str(folder))

    deduped = _retrieve(runtime, "notes", "glaciers carve valleys")
    assert sorted(c.document_id for c in deduped.chunks) == ["glaciers-copy.txt", "rivers.txt"]
    everything = _retrieve(runtime, "all", "glaciers carve valleys")
    assert len(everything.chunks) == 3

    only = _retrieve(runtime, "notes", "carve valleys", filter={"document_id": "rivers.txt"})
    assert [c.document_id for c in only.chunks] == ["rivers.txt"]
    both = _retrieve(runtime, "rivers", "valleys", filter={"document_id": {"$ne": "rivers.txt"}})
    assert [c.document_id for c in both.chunks] == ["glaciers-copy.txt"]
