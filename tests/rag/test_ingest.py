"""Incremental ingestion against a real store (SQLite and PostgreSQL) and the embedded vector
engine, embedding through the in-process gateway to the fake provider."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from llmdeck.rag import IngestReport
from llmdeck.server import Runtime
from llmdeck.testing import FakeProvider

from .conftest import embedded_texts

MakeRuntime = Callable[..., Runtime]


def _chunk_ids(runtime: Runtime, document_id: str) -> list[str]:
    collection = runtime.vectors.collection("geo")
    ids = [f"{document_id}#{i}" for i in range(50)]
    return [r.id for r in collection.get(ids)]


def test_ingest_then_reingest_edit_and_delete(
    make_runtime: MakeRuntime, corpus: Path, fake: FakeProvider
) -> None:
    runtime = make_runtime()
    first = runtime.rag.ingest("geo", str(corpus))
    documents = {
        "tides.md",
        "moon.txt",
        "volcanoes.html",
        "sub/comets.pdf",
        "sub/rainforests.docx",
        "rec-glacier",
        "rec-desert",
    }
    assert first.written == len(documents) and first.documents == len(documents)
    # and one dimension probe when the collection is created
    assert first.chunks >= len(documents) and first.embedded + 1 == embedded_texts(fake)
    problems = {Path(p.path).name: p.message for p in first.problems}
    assert set(problems) == {"broken.pdf", "picture.bmp"}
    assert "not a readable PDF" in problems["broken.pdf"]
    assert "unsupported file type '.bmp'" in problems["picture.bmp"]
    collection = runtime.vectors.collection("geo")
    assert collection.count() == first.chunks
    for document_id in documents:  # JSONL records keep their own id
        assert _chunk_ids(runtime, document_id), document_id
    record = collection.get(["rec-desert#0"])[0]
    assert record.metadata["region"] == "africa" and record.metadata["document_id"] == "rec-desert"

    fake.clear()
    again = runtime.rag.ingest("geo", str(corpus))
    assert embedded_texts(fake) == 0  # nothing re-embedded
    assert again.skipped == len(documents) and again.written == 0 and again.chunks == 0

    (corpus / "moon.txt").write_text("The Moon orbits the Earth every 27 days and shows phases.\n")
    fake.clear()
    edited = runtime.rag.ingest("geo", str(corpus))
    assert edited.written == 1 and edited.skipped == len(documents) - 1
    assert embedded_texts(fake) == edited.chunks == 1  # only the edited file
    moon = collection.get(["moon.txt#0"])[0]
    assert "phases" in moon.text

    (corpus / "volcanoes.html").unlink()
    shutil.rmtree(corpus / "sub")
    fake.clear()
    removed = runtime.rag.ingest("geo", str(corpus))
    assert removed.removed == 5 and embedded_texts(fake) == 0
    for gone in ("volcanoes.html", "sub/comets.pdf", "rec-glacier", "rec-desert"):
        assert _chunk_ids(runtime, gone) == []
    assert runtime.rag.documents.stats("geo")["documents"] == 2


def test_unchanged_text_in_a_new_collection_costs_nothing(
    make_runtime: MakeRuntime, corpus: Path, fake: FakeProvider
) -> None:
    runtime = make_runtime()
    runtime.rag.ingest("geo", str(corpus))
    fake.clear()
    copy = runtime.rag.ingest("geo-copy", str(corpus))
    assert copy.written == 7 and copy.embedded == 0
    # one request only: the new collection's dimension probe, no chunk is embedded again
    assert embedded_texts(fake) == 1


class Interrupted(Exception):
    pass


def test_an_interrupted_run_is_finished_by_the_next(
    make_runtime: MakeRuntime, tmp_path: Path, fake: FakeProvider
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"note{i:02}.txt").write_text(f"Note {i} is about topic number {i}.\n" * 40)
    runtime = make_runtime(rag={"embed_batch": 8})

    def stop_after_first_batch(report: IngestReport) -> None:
        if report.written:
            raise Interrupted

    with pytest.raises(Interrupted):
        runtime.rag.ingest("notes", str(folder), progress=stop_after_first_batch)
    partial = runtime.rag.documents.stats("notes")
    assert 0 < partial["documents"] < 12
    fake.clear()
    runtime = make_runtime(rag={"embed_batch": 8})  # as after a restart
    finished = runtime.rag.ingest("notes", str(folder))
    assert finished.skipped == partial["documents"] - partial["incomplete"]
    assert finished.written == 12 - finished.skipped
    stats = runtime.rag.documents.stats("notes")
    assert stats == {
        "documents": 12,
        "chunks": runtime.vectors.collection("notes").count(),
        "incomplete": 0,
    }


def test_a_glob_source_and_a_missing_path(make_runtime: MakeRuntime, corpus: Path) -> None:
    runtime = make_runtime()
    report = runtime.rag.ingest("geo", str(corpus / "*.md"))
    assert report.written == 1 and report.problems == []
    from llmdeck.rag import RagError

    with pytest.raises(RagError, match="no such file"):
        runtime.rag.ingest("geo", str(corpus / "nowhere"))
