"""What RAG keeps in the Store: each document's ingested state, the embedding cache, and the
ingestion runs with their progress."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, delete, select, update

from llmdeck.store import Store
from llmdeck.store.tables import rag_documents, rag_embeddings, rag_ingests
from llmdeck.vectors import Embeddings


@dataclass(frozen=True, slots=True)
class DocumentState:
    """A document as last ingested."""

    document_id: str
    source: str | None
    content_hash: str
    state: str
    chunk_ids: list[str]


class DocumentStates:
    """Per-document ingestion state of each collection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def all(self, collection: str) -> dict[str, DocumentState]:
        """Every document of `collection`, by id."""
        t = rag_documents
        query = select(t.c.document_id, t.c.source, t.c.content_hash, t.c.state, t.c.chunk_ids)
        rows = self.store.read(
            lambda conn: conn.execute(query.where(t.c.collection == collection)).all()
        )
        return {r[0]: DocumentState(r[0], r[1], r[2], r[3], list(r[4] or [])) for r in rows}

    def begin(self, collection: str, docs: Sequence[tuple[Any, list[str]]]) -> None:
        """Mark documents `indexing`, each naming every chunk id it may have written (old and
        new) so that an interrupted run still knows what to clean up."""
        self._put(collection, docs, "indexing")

    def finish(self, collection: str, docs: Sequence[tuple[Any, list[str]]]) -> None:
        """Mark documents `indexed` with the chunks each holds now."""
        self._put(collection, docs, "indexed")

    def _put(self, collection: str, docs: Sequence[tuple[Any, list[str]]], state: str) -> None:
        if not docs:
            return
        rows = [self._row(collection, doc, ids, state) for doc, ids in docs]
        keys = ["collection", "document_id"]
        statement = self.store.upsert(rag_documents, keys, [k for k in rows[0] if k not in keys])
        self.store.write(lambda conn: conn.execute(statement, rows))

    @staticmethod
    def _row(collection: str, doc: Any, chunk_ids: list[str], state: str) -> dict[str, Any]:
        return {
            "collection": collection,
            "document_id": doc.id,
            "source": doc.source,
            "title": doc.title,
            "mtime": doc.mtime,
            "content_hash": doc.content_hash,
            "state": state,
            "chunks": len(chunk_ids),
            "chunk_ids": chunk_ids,
            "updated_at": time.time(),
        }

    def remove(self, collection: str, document_ids: Sequence[str]) -> None:
        """Forget documents."""
        t = rag_documents
        ids = list(document_ids)
        self.store.write(
            lambda conn: conn.execute(
                delete(t).where(t.c.collection == collection, t.c.document_id.in_(ids))
            )
        )

    def stats(self, collection: str) -> dict[str, int]:
        """Documents and chunks held."""
        states = self.all(collection)
        return {
            "documents": len(states),
            "chunks": sum(len(s.chunk_ids) for s in states.values()),
            "incomplete": sum(s.state != "indexed" for s in states.values()),
        }


class EmbeddingCache:
    """Vectors by (model alias, sha256 of the embedded text): unchanged text is never embedded
    twice, whichever document or collection it comes back in."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `hashes`."""
        t = rag_embeddings
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            query = select(t.c.text_hash, t.c.vector).where(
                t.c.model == model, t.c.text_hash.in_(part)
            )
            for digest, blob in self.store.read(partial(_rows, query)):
                found[digest] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def put(self, model: str, hashes: Sequence[str], made: Embeddings) -> None:
        """Remember vectors (existing entries are kept)."""
        now = time.time()
        rows = [
            {
                "model": model,
                "text_hash": h,
                "dim": int(v.shape[0]),
                "vector": np.asarray(v, dtype="<f4").tobytes(),
                "created_at": now,
            }
            for h, v in zip(hashes, made.vectors, strict=True)
        ]
        if rows:
            statement = self.store.insert_ignore(rag_embeddings)
            self.store.write(lambda conn: conn.execute(statement, rows))


def _rows(query: Select[Any], conn: Connection) -> list[Any]:
    return list(conn.execute(query).all())


_COUNTERS = ("documents", "done", "written", "skipped", "removed", "chunks", "embedded")


class IngestRuns:
    """Ingestion runs: queued, running, done or failed, with their counters and problems."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, collection: str, source: str | None, status: str = "queued") -> str:
        """A new run's id."""
        run_id = os.urandom(8).hex()
        row: dict[str, Any] = {
            "id": run_id,
            "collection": collection,
            "source": source,
            "status": status,
            "problems": [],
            "created_at": time.time(),
        }
        row.update(dict.fromkeys(_COUNTERS, 0))
        self.store.write(lambda conn: conn.execute(rag_ingests.insert().values(**row)))
        return run_id

    def update(self, run_id: str, **values: Any) -> None:
        """Set fields of a run."""
        t = rag_ingests
        self.store.write(
            lambda conn: conn.execute(update(t).where(t.c.id == run_id).values(**values))
        )

    def interrupt_unfinished(self) -> int:
        """Mark runs still queued or running as `interrupted` (their process is gone); how many."""
        t = rag_ingests
        statement = (
            update(t)
            .where(t.c.status.in_(("queued", "running")))
            .values(status="interrupted", finished_at=time.time())
        )
        return int(self.store.write(lambda conn: conn.execute(statement).rowcount))

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A run as a dict, with its throughput."""
        t = rag_ingests
        row = self.store.read(
            lambda conn: conn.execute(select(t).where(t.c.id == run_id)).mappings().first()
        )
        return _view(row) if row is not None else None

    def recent(self, collection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        t = rag_ingests
        query = select(t).order_by(t.c.created_at.desc()).limit(limit)
        if collection is not None:
            query = query.where(t.c.collection == collection)
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [_view(r) for r in rows]


def _view(row: Any) -> dict[str, Any]:
    out = {str(k): v for k, v in dict(row).items()}
    started, finished = out.get("started_at"), out.get("finished_at")
    elapsed = ((finished or time.time()) - started) if started else 0.0
    out["elapsed"] = round(elapsed, 3)
    out["docs_per_s"] = round(out["done"] / elapsed, 2) if elapsed > 0 else None
    out["chunks_per_s"] = round(out["chunks"] / elapsed, 2) if elapsed > 0 else None
    return out
