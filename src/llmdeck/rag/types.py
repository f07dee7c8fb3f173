"""The shapes RAG passes between its stages: documents, chunks, retrieved chunks, citations,
answers, and the errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmdeck.errors import ApiError, BadRequest


class RagError(BadRequest):
    """A request RAG refuses (unknown pipeline, bad path, empty question)."""


class StoreUnavailable(ApiError):
    """The vector store did not answer: retrieval cannot run at all."""

    status = 503
    type = "api_error"


class StageTimeout(ApiError):
    """A query stage took longer than its timeout."""

    status = 504
    type = "api_error"


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded document: its id (a path relative to the ingested root, or a record's `id`),
    text, and where it came from."""

    id: str
    text: str
    source: str
    title: str
    mtime: float | None
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)
    format: str = "text"  # text | markdown | html | pdf | docx | record


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document: `document.text[start:end]`, its place and the heading above it."""

    text: str
    start: int
    end: int
    index: int
    heading: str = ""


@dataclass(frozen=True, slots=True)
class Retrieved:
    """A chunk found for a question."""

    id: str
    document_id: str
    score: float
    text: str
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The API's chunk shape."""
        return {
            "id": self.id,
            "document_id": self.document_id,
            "score": self.score,
            "text": self.text,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """Where an answer's support comes from: a retrieved chunk, its document and offsets."""

    marker: int  # [n] in the context and the answer
    chunk_id: str
    document_id: str
    source: str
    title: str
    start: int
    end: int
    score: float
    cited: bool  # the answer names [n], or quotes the chunk

    def to_dict(self) -> dict[str, Any]:
        """The API's citation shape."""
        return {
            "marker": self.marker,
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "source": self.source,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "cited": self.cited,
        }


@dataclass(slots=True)
class Retrieval:
    """What retrieval found, how, and how long each stage took."""

    chunks: list[Retrieved]
    degraded: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = "hybrid"
    trace_id: str | None = None


@dataclass(slots=True)
class Answered:
    """A query's full result."""

    retrieval: Retrieval
    answer: str
    citations: list[Citation]
    model: str
    grounded: float | None

    def to_dict(self) -> dict[str, Any]:
        """The API's query shape: retrieve's, plus the answer and its citations."""
        return {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "chunks": [c.to_dict() for c in self.retrieval.chunks],
            "model": self.model,
            "grounded_risk": self.grounded,
            "degraded": self.retrieval.degraded,
            "timings": self.retrieval.timings,
            "mode": self.retrieval.mode,
            "trace_id": self.retrieval.trace_id,
        }
