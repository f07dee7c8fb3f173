"""The shapes that cross the vectors layer's boundary: items, hits, collection specs,
embeddings, and the errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from llmdeck.config import IndexSettings, Metric
from llmdeck.errors import ApiError, BadRequest, NotFound

Vector = npt.NDArray[np.float32]
SearchMode = Literal["vector", "keyword", "hybrid"]
Fusion = Literal["rrf", "weighted"]
Metadata = dict[str, Any]


class VectorError(BadRequest):
    """A request the collection refuses: wrong dimension or model, bad filter, bad id."""


class CollectionBusy(ApiError):
    """Another process has the collection's files open (the embedded engine is single-process)."""

    status = 409
    type = "conflict_error"


class CollectionNotFound(NotFound):
    """No collection (or version) by that name."""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing stored in a collection: its id, original text (kept so that it can be
    re-embedded), metadata, and optionally a vector already computed by `model`."""

    id: str
    text: str = ""
    metadata: Metadata = field(default_factory=dict)
    vector: Sequence[float] | Vector | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """An item as stored: text, metadata and its (normalised, if the collection says so) vector."""

    id: str
    text: str
    metadata: Metadata
    vector: Vector | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result. `score` is higher-is-better: cosine similarity, inner product, or minus
    the Euclidean distance for vector search; BM25 (or the backend's text rank) for keyword
    search; the fused score for hybrid search, with each part kept beside it."""

    id: str
    score: float
    text: str = ""
    metadata: Metadata = field(default_factory=dict)
    vector_score: float | None = None
    keyword_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "id": self.id,
            "score": self.score,
            "text": self.text,
            "metadata": self.metadata,
        }
        if self.vector_score is not None:
            out["vector_score"] = self.vector_score
        if self.keyword_score is not None:
            out["keyword_score"] = self.keyword_score
        return out


@dataclass(frozen=True, slots=True)
class Spec:
    """What a collection version is: its embedding model (a gateway alias), dimension, metric,
    normalisation and index settings, and where its data lives."""

    name: str
    version: int
    backend: str
    location: str
    model: str
    dim: int
    metric: Metric
    normalize: bool
    index: IndexSettings

    @property
    def label(self) -> str:
        """`name@vN`, as shown to users."""
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True, slots=True)
class Embeddings:
    """What an embedding call returns: one row per text, and its token count and cost."""

    vectors: Vector
    tokens: int = 0
    cost: float = 0.0


Embed = Callable[[list[str], str], Embeddings]
"""`embed(texts, model) -> Embeddings`: injected by the server or CLI, which build it on the
gateway's embeddings path, so the vectors layer never imports the gateway."""


def plain(row: Any) -> dict[str, Any]:
    """A database row as a dict with plain `str` keys (SQLAlchemy's are a str subclass, which
    orjson refuses as keys)."""
    return {str(key): value for key, value in dict(row).items()}


def as_matrix(vectors: Sequence[Sequence[float]] | Vector, dim: int, what: str) -> Vector:
    """Vectors as a float32 (n, dim) matrix; VectorError naming `what` if the shape is wrong."""
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise VectorError(f"{what}: not a list of numbers", param=what) from None
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        got = matrix.shape[-1] if matrix.ndim >= 1 else 0
        raise VectorError(
            f"{what}: vector has dimension {got}; this collection's is {dim}",
            param=what,
            code="wrong_dimension",
        )
    if not np.isfinite(matrix).all():
        raise VectorError(f"{what}: vector holds NaN or infinity", param=what)
    return np.ascontiguousarray(matrix)


def normalise(matrix: Vector) -> Vector:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vector = (matrix / norms).astype(np.float32, copy=False)
    return out
