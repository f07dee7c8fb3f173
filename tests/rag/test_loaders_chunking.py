"""Loaders (each format) and chunkers (offsets, budgets, structure, overlap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.config import ChunkingSettings, LoaderSettings
from llmdeck.rag import FixedChunker, StructureChunker, count_tokens, discover, load

from .conftest import HTML, MARKDOWN


def _load(root: Path, name: str) -> list:  # type: ignore[type-arg]
    files, _ = discover(str(root / name), LoaderSettings())
    return load(files[0], LoaderSettings())


def test_each_format_loads(corpus: Path) -> None:
    (md,) = _load(corpus, "tides.md")
    assert md.title == "Tides" and md.format == "markdown" and md.mtime is not None
    assert "ignored front matter" not in md.text and len(md.text) == len(MARKDOWN)
    (html,) = _load(corpus, "volcanoes.html")
    assert html.title == "Volcanoes" and "# Volcanoes" in html.text and "Mount Etna" in html.text
    for boilerplate in ("tracking", "Home | About", "Copyright"):
        assert boilerplate not in html.text
    (pdf,) = _load(corpus, "sub/comets.pdf")
    assert "Comets are icy bodies" in pdf.text
    (docx,) = _load(corpus, "sub/rainforests.docx")
    assert docx.text.startswith("# Rainforests\n\nThe Amazon")
    records = _load(corpus, "sub/records.jsonl")
    assert [r.id for r in records] == ["rec-glacier", "rec-desert"]
    assert records[0].text == "Glaciers\n\nA glacier is a persistent body of dense ice."
    assert records[1].metadata == {"region": "africa"}
    assert len({r.content_hash for r in records}) == 2


def test_a_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    from llmdeck.rag.loaders import LoadError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b"}\n')
    files, _ = discover(str(bad), LoaderSettings())
    with pytest.raises(LoadError, match='line 2: a record needs a string "text"'):
        load(files[0], LoaderSettings())


def test_structure_chunks_are_exact_spans_within_budget() -> None:
    text = MARKDOWN.split("---\n", 2)[2] + "\n\n".join(
        f"## Section {n}\n\n" + " ".join(f"Sentence {n}.{i} talks about tides." for i in range(30))
        for n in range(4)
    )
    settings = ChunkingSettings(max_tokens=60, overlap=10)
    chunks = StructureChunker(settings)(text)
    assert len(chunks) > 8
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= 60 + 8  # a heading may ride along with its section
    code = next(c for c in chunks if "def tide" in c.text)
    assert "return height * 2\n```" in code.text  # the code block stays whole
    assert chunks[0].heading == "Tides"
    assert any(c.heading == "Tides > Section 2" for c in chunks)
    assert all(not c.text.startswith("## Section") or c.start > 0 for c in chunks)
    sections = [c for c in chunks if c.heading == "Tides > Section 1"]
    assert sections[1].start < sections[0].end  # consecutive chunks of a section overlap
    assert not any(c.heading.endswith("Section 2") and "Section 1." in c.text for c in chunks)


def test_fixed_chunks_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = FixedChunker(ChunkingSettings(strategy="fixed", max_tokens=40, overlap=10))(text)
    assert [count_tokens(c.text) for c in chunks] == [40, 40, 40]
    assert chunks[1].text.startswith("w30") and chunks[-1].text.endswith("w99")


def test_html_without_main_keeps_body_text() -> None:
    from llmdeck.rag.loaders import load_html

    (doc,) = load_html(
        b"<html><body><div>Just <b>some</b> text</div></body></html>", "x.html", LoaderSettings()
    )
    assert doc.text == "Just some text"
    assert HTML  # the corpus page is the fuller case, above
