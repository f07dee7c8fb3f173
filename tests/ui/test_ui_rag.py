"""The RAG page in a real browser: ask a collection, see the answer, its citations with scores,
the retrieved chunks and the time per stage; the ingestion run started over the API is listed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread
from tests.rag.conftest import HTML, rag_settings
from tests.ui.conftest import sign_in

pytestmark = pytest.mark.xdist_group("ui")
KEY = "sk-admin-rag-ui"


def test_the_rag_page_answers_with_sources(
    browser: Any, home: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "volcanoes.html").write_text(HTML)
    (corpus / "moon.txt").write_text("The Moon orbits the Earth every 27 days.\n")
    retrieval = {"fusion": "weighted", "alpha": 0.1}
    pipelines = {"geo": {"source": str(corpus), "retrieval": retrieval}}
    settings = rag_settings(home, fake, admin_key=KEY, rag={"pipelines": pipelines})
    with ServerThread(settings) as server:
        started = httpx.post(
            f"{server.url}/api/rag/ingest",
            json={"collection": "geo"},
            headers={"authorization": f"Bearer {KEY}"},
        )
        assert started.status_code == 202
        _wait_done(server, started.json()["id"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page = sign_in(context, server.url, KEY)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        asked: list[str] = []
        page.on(
            "request",
            lambda r: asked.append(r.post_data or "") if "/api/rag/query" in r.url else None,
        )
        assert page.locator("nav >> text=RAG").count() == 1  # shown: the server has /api/rag
        page.click("nav >> text=RAG")
        page.wait_for_selector("#app[data-loaded=true]")
        assert "done" in page.inner_text("[aria-label='Ingestion runs']")
        page.select_option("#collection", "geo")
        page.fill("#question", "What is Mount Etna?")
        page.click("#ask")
        page.wait_for_selector("[aria-label='Citations']")  # the answer is complete
        assert "Mount Etna in Sicily" in page.inner_text("#answer")
        citations = page.inner_text("[aria-label='Citations']")
        assert "Volcanoes" in citations and "yes" in citations
        stages = page.inner_text("[aria-label='Stage timings']")
        for stage in ("embed question", "search", "answer", "groundedness"):
            assert stage in stages
        assert "volcanoes.html#0" in page.inner_text("[aria-label='Retrieved chunks']")
        assert "q=What+is+Mount+Etna" in page.url  # the question can be linked to
        assert asked and '"stream":true' in asked[0]  # the answer streamed in
        assert errors == []
        context.close()


def _wait_done(server: ServerThread, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = httpx.get(
            f"{server.url}/api/rag/ingest/{run_id}", headers={"authorization": f"Bearer {KEY}"}
        ).json()
        if run["status"] == "done":
            return
        time.sleep(0.05)
    raise AssertionError(f"ingestion did not finish: {run}")
