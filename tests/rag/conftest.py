"""Fixtures for RAG: a small corpus in every supported format (plus a corrupt and an
unsupported file), settings that embed through the gateway to the fake provider and answer
with the local extractive model, and a runtime over SQLite or PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmdeck.config import Settings
from llmdeck.server import Runtime
from llmdeck.server.embedder import background_runtime
from llmdeck.testing import FakeProvider
from tests.conftest import make_settings

MARKDOWN = """---
title: ignored front matter
---
# Tides

Tides are the rise and fall of sea levels caused by the gravity of the Moon and the Sun.

## Spring tides

Spring tides happen when the Sun, the Moon and the Earth line up, twice a month.

```python
def tide(height):
    return height * 2
```
"""

HTML = """<html><head><title>Volcanoes</title><script>var tracking = 1;</script></head>
<body><nav>Home | About | Contact</nav>
<main><h1>Volcanoes</h1><p>A volcano is a rupture in the crust of a planet where lava,
ash and gases escape.</p><p>Mount Etna in Sicily is one of the most active volcanoes.</p></main>
<footer>Copyright footer text</footer></body></html>"""

RECORDS = [
    {
        "id": "rec-glacier",
        "title": "Glaciers",
        "text": "A glacier is a persistent body of dense ice.",
    },
    {
        "id": "rec-desert",
        "title": "Deserts",
        "text": "The Sahara is the largest hot desert.",
        "metadata": {"region": "africa"},
    },
]


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF showing `text` (built by hand: pypdf reads PDFs, it does not typeset)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx_bytes() -> bytes:
    """A DOCX with a heading and two paragraphs."""
    import docx

    document = docx.Document()
    document.add_heading("Rainforests", level=1)
    document.add_paragraph("The Amazon rainforest produces a large share of the oxygen.")
    document.add_paragraph("Rainforests receive more than two metres of rain a year.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with one document per format, a corrupt PDF and an unsupported file."""
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "tides.md").write_text(MARKDOWN)
    (root / "moon.txt").write_text("The Moon orbits the Earth every 27 days.\n")
    (root / "volcanoes.html").write_text(HTML)
    (root / "sub" / "records.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in RECORDS))
    (root / "sub" / "comets.pdf").write_bytes(pdf_bytes("Comets are icy bodies with tails."))
    (root / "sub" / "rainforests.docx").write_bytes(docx_bytes())
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (root / "picture.bmp").write_bytes(b"BM\x00\x00")
    return root


def rag_settings(home: Path, fake: FakeProvider, **fields: Any) -> Settings:
    """Embeddings through the gateway to the fake provider (`embed`), answers from the local
    extractive model (`chat`)."""
    deployment = {"provider": "openai", "model": "fake-embed", "api_base": fake.openai_base}
    models = [
        {"name": "chat", "deployments": [{"provider": "local", "model": "extractive"}]},
        {"name": "embed", "deployments": [deployment]},
    ]
    fields.setdefault("models", models)
    fields.setdefault("vectors", {"quality_interval": 0})
    return make_settings(home, **fields)


def embedded_texts(fake: FakeProvider) -> int:
    """How many texts the fake provider was asked to embed."""
    count = 0
    for request in fake.requests:
        if request.path == "/v1/embeddings":
            given = request.body["input"]
            count += len(given) if isinstance(given, list) else 1
    return count


@pytest.fixture
def make_runtime(
    home: Path, fake: FakeProvider, database_url: str
) -> Iterator[Callable[..., Runtime]]:
    """`make_runtime(**settings)`: the server's parts without HTTP, on SQLite or PostgreSQL
    (each test runs on both); one at a time."""
    opened: list[Any] = []

    def make(**fields: Any) -> Runtime:
        while opened:
            opened.pop().__exit__(None, None, None)
        context = background_runtime(rag_settings(home, fake, database_url=database_url, **fields))
        runtime = context.__enter__()
        opened.append(context)
        return runtime

    yield make
    while opened:
        opened.pop().__exit__(None, None, None)
