"""`llmdeck quickstart` declares a `docs` pipeline over llmdeck's own docs/ that servers ingest
in the background at start: the second start finds every file unchanged."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from llmdeck.cli.quickstart import docs_folder, with_docs_pipeline
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import rag_settings


def _finished(server: ServerThread) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = httpx.get(f"{server.url}/api/rag/ingest").json()["runs"]
        if runs and runs[0]["status"] not in ("queued", "running"):
            return dict(runs[0])
        time.sleep(0.1)
    raise AssertionError("the docs were not ingested in time")


def test_quickstart_ingests_the_docs_in_the_background(home: Path, fake: FakeProvider) -> None:
    docs = docs_folder()
    assert docs is not None and (docs / "rag.md").is_file()
    settings = with_docs_pipeline(rag_settings(home, fake), docs)
    with ServerThread(settings) as server:
        assert httpx.get(f"{server.url}/health").status_code == 200  # serving meanwhile
        first = _finished(server)
        assert first["status"] == "done" and first["written"] >= 10 and first["chunks"] > 100
        found = httpx.post(
            f"{server.url}/api/rag/retrieve",
            json={"collection": "docs", "query": "roll back a prompt label"},
        )
        assert any(c["document_id"] == "prompts.md" for c in found.json()["chunks"])
    fake.clear()
    with ServerThread(settings) as server:
        second = _finished(server)
        assert second["written"] == 0 and second["skipped"] == first["written"]
        assert [r for r in fake.requests if r.path == "/v1/embeddings"] == []
