"""Ingestion: files -> documents -> chunks -> embeddings -> a collection, incrementally.

Unchanged documents (same content hash, fully indexed) are skipped; changed ones replace their
chunks; documents gone from the source are deleted. Chunks are embedded in batches across
documents, through the injected `Embed` (the gateway's embeddings path, so calls are traced and
costed), and each text's vector is cached by content hash. Each batch's documents are marked
`indexing` before their chunks are written and `indexed` after, so a run interrupted anywhere
is finished by the next one."""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llmdeck.config import PipelineSettings
from llmdeck.observe import Tracer
from llmdeck.rag.chunking import Chunker, make_chunker
from llmdeck.rag.loaders import Found, LoadError, LoadProblem, content_hash, discover, walk
from llmdeck.rag.state import DocumentState, DocumentStates, EmbeddingCache
from llmdeck.rag.types import Chunk, Document, RagError
from llmdeck.store import Store
from llmdeck.vectors import Collection, CollectionNotFound, Embed, Item, VectorService

STAGES = ("discover", "load", "chunk", "cache", "embed", "write", "state")


@dataclass(slots=True)
class IngestReport:
    """What a run did so far; `seconds` is time spent per stage."""

    collection: str
    source: str
    files: int = 0  # files found in the source
    files_done: int = 0
    documents: int = 0  # documents found in them (a JSONL file holds many)
    done: int = 0
    written: int = 0
    skipped: int = 0
    removed: int = 0
    chunks: int = 0  # chunks written
    embedded: int = 0  # chunks embedded (cache misses)
    problems: list[LoadProblem] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds the run took (so far, while it runs)."""
        return (self.finished or time.perf_counter()) - self.started

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        elapsed = self.elapsed
        return {
            "collection": self.collection,
            "source": self.source,
            "files": self.files,
            "documents": self.documents,
            "written": self.written,
            "skipped": self.skipped,
            "removed": self.removed,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "problems": [str(p) for p in self.problems],
            "seconds": round(elapsed, 3),
            "docs_per_s": round(self.done / elapsed, 2) if elapsed else None,
            "chunks_per_s": round(self.chunks / elapsed, 2) if elapsed else None,
            "stages": {k: round(v, 3) for k, v in self.seconds.items()},
        }


Progress = Callable[[IngestReport], None]


@dataclass(slots=True)
class _Pending:
    doc: Document
    chunks: list[Chunk]
    ids: list[str]
    old: list[str]


class Ingestor:
    """Runs ingestion for one pipeline into its collection."""

    def __init__(
        self,
        vectors: VectorService,
        embed: Embed,
        store: Store,
        *,
        batch: int = 64,
        tracer: Tracer | None = None,
    ) -> None:
        self.vectors = vectors
        self.embed = embed
        self.states = DocumentStates(store)
        self.cache = EmbeddingCache(store)
        self.batch = batch
        self.tracer = tracer or Tracer()

    def collection(self, name: str, pipeline: PipelineSettings) -> Collection:
        """The collection, created with the pipeline's embedding model if new."""
        try:
            return self.vectors.collection(name)
        except CollectionNotFound:
            self.vectors.vectors.create(name, model=pipeline.embedding)
            return self.vectors.collection(name)

    def run(
        self,
        name: str,
        source: str,
        pipeline: PipelineSettings,
        *,
        progress: Progress | None = None,
        remove_missing: bool = True,
    ) -> IngestReport:
        """Ingest `source` (a file, folder or glob) into collection `name`."""
        report = IngestReport(name, source)
        with self.tracer.span(
            "rag.ingest", kind="chain", input={"collection": name, "source": source}
        ) as span:
            clock = time.perf_counter()
            try:
                files, root = discover(source, pipeline.loader)
            except LoadError as exc:
                raise RagError(str(exc), param="source") from None
            report.seconds["discover"] += time.perf_counter() - clock
            report.files = len(files)
            collection = self.collection(name, pipeline)
            states = self.states.all(name)
            run = _Run(self, collection, pipeline, states, report, progress)
            run.ingest(files)
            if remove_missing:
                scope = _Scope(source, root)
                gone = [
                    s
                    for s in states.values()
                    if s.document_id not in run.seen and scope.covers(s.source)
                ]
                run.remove(gone)
            report.finished = time.perf_counter()
            span.update(
                output=report.to_dict(),
                **{f"{k}_s": round(v, 4) for k, v in report.seconds.items()},
            )
        if progress is not None:
            progress(report)
        return report


class _Scope:
    """Which stored documents a source covers (those are deleted when no longer found)."""

    def __init__(self, source: str, root: Path) -> None:
        self.path = Path(source).expanduser()
        self.pattern = os.path.abspath(source)
        self.root = str(root.resolve())

    def covers(self, stored: str | None) -> bool:
        if stored is None:
            return False
        if glob.has_magic(self.pattern):
            flat = self.pattern.replace("**" + os.sep, "")
            return fnmatch.fnmatch(stored, self.pattern) or fnmatch.fnmatch(stored, flat)
        if self.path.is_dir():
            return stored.startswith(self.root + os.sep)
        return stored == str(self.path.resolve())


class _Run:
    """One run's loop: documents batched for embedding and writing."""

    def __init__(
        self,
        ingestor: Ingestor,
        collection: Collection,
        pipeline: PipelineSettings,
        states: dict[str, DocumentState],
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        self.ingestor = ingestor
        self.collection = collection
        self.pipeline = pipeline
        self.states = states
        self.report = report
        self.progress = progress
        self.chunker: Chunker = make_chunker(pipeline.chunking)
        self.pending: list[_Pending] = []
        self.seen: set[str] = set()

    def _tick(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.report.seconds[stage] += now - since
        return now

    def ingest(self, files: list[Found]) -> None:
        report = self.report
        clock = time.perf_counter()
        for _, loaded in walk(files, self.pipeline.loader):
            clock = self._tick("load", clock)
            if isinstance(loaded, LoadProblem):
                report.problems.append(loaded)
                report.files_done += 1
                continue
            for doc in loaded:
                doc = _resolved(doc)
                report.documents += 1
                self.seen.add(doc.id)
                known = self.states.get(doc.id)
                if known and known.state == "indexed" and known.content_hash == doc.content_hash:
                    report.skipped += 1
                    report.done += 1
                    continue
                chunks = self.chunker(doc.text)
                ids = [_chunk_id(doc.id, c.index) for c in chunks]
                self.pending.append(_Pending(doc, chunks, ids, known.chunk_ids if known else []))
                clock = self._tick("chunk", clock)
                if sum(len(p.chunks) for p in self.pending) >= self.ingestor.batch:
                    self.flush()
                    clock = time.perf_counter()
            report.files_done += 1
            if self.progress is not None:
                self.progress(report)
            clock = time.perf_counter()
        self.flush()

    def flush(self) -> None:
        """Embed, write and record the pending documents."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        name = self.report.collection
        clock = time.perf_counter()
        self.ingestor.states.begin(
            name, [(p.doc, list(dict.fromkeys(p.old + p.ids))) for p in pending]
        )
        clock = self._tick("state", clock)
        items = self._items(pending)
        clock = time.perf_counter()
        if items:
            self.collection.upsert(items, model=self.collection.spec.model)
        stale = [i for p in pending for i in p.old if i not in set(p.ids)]
        if stale:
            self.collection.delete(stale)
        clock = self._tick("write", clock)
        self.ingestor.states.finish(name, [(p.doc, p.ids) for p in pending])
        self._tick("state", clock)
        self.report.written += len(pending)
        self.report.done += len(pending)
        self.report.chunks += len(items)
        if self.progress is not None:
            self.progress(self.report)

    def _items(self, pending: list[_Pending]) -> list[Item]:
        clock = time.perf_counter()
        texts = [_embedded_text(p.doc, c) for p in pending for c in p.chunks]
        hashes = [content_hash(t) for t in texts]
        model = self.collection.spec.model
        cached = self.ingestor.cache.get(model, hashes)
        missing = [i for i, h in enumerate(hashes) if h not in cached]
        clock = self._tick("cache", clock)
        vectors: dict[str, np.ndarray] = dict(cached)
        if missing:
            unique = list(dict.fromkeys(hashes[i] for i in missing))
            first = {h: texts[hashes.index(h)] for h in unique}
            made = self.ingestor.embed([first[h] for h in unique], model)
            clock = self._tick("embed", clock)
            self.ingestor.cache.put(model, unique, made)
            vectors.update(zip(unique, made.vectors, strict=True))
            self.report.embedded += len(unique)
            clock = self._tick("cache", clock)
        items = []
        row = 0
        for p in pending:
            for chunk, ident in zip(p.chunks, p.ids, strict=True):
                meta = {**p.doc.metadata, **_chunk_metadata(p.doc, chunk)}
                items.append(Item(ident, chunk.text, meta, vectors[hashes[row]]))
                row += 1
        return items

    def remove(self, gone: list[DocumentState]) -> None:
        """Delete documents no longer in the source, and their chunks."""
        if not gone:
            return
        clock = time.perf_counter()
        self.collection.delete([i for s in gone for i in s.chunk_ids])
        self.ingestor.states.remove(self.report.collection, [s.document_id for s in gone])
        self.report.removed += len(gone)
        self._tick("write", clock)


def _resolved(doc: Document) -> Document:
    source = str(Path(doc.source).resolve())
    return Document(
        doc.id, doc.text, source, doc.title, doc.mtime, doc.content_hash, doc.metadata, doc.format
    )


def _chunk_id(document_id: str, index: int) -> str:
    ident = f"{document_id}#{index}"
    if len(ident) <= 200:
        return ident
    return f"{hashlib.sha256(document_id.encode()).hexdigest()[:40]}#{index}"


def _embedded_text(doc: Document, chunk: Chunk) -> str:
    """The chunk as embedded: with its document title and heading when the text lacks them
    (a passage means more to the model with its section's name)."""
    context = [t for t in (doc.title, chunk.heading.rsplit(" > ", 1)[-1]) if t]
    context = [t for t in dict.fromkeys(context) if t not in chunk.text[: len(t) + 8]]
    return "\n".join([*context, chunk.text])


def _chunk_metadata(doc: Document, chunk: Chunk) -> dict[str, Any]:
    return {
        "document_id": doc.id,
        "source": doc.source,
        "title": doc.title,
        "heading": chunk.heading,
        "start": chunk.start,
        "end": chunk.end,
        "chunk": chunk.index,
        "mtime": doc.mtime,
        "format": doc.format,
    }
