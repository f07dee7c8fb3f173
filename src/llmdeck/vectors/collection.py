"""Collection: one version of a vector collection, over an Index backend. It embeds texts
through the injected `embed` callable, checks dimension and model, normalises, and runs
vector, keyword and hybrid search the same way on every backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmdeck.config import IndexSettings
from llmdeck.vectors import fusion
from llmdeck.vectors.backends.base import Index, Scored
from llmdeck.vectors.filters import parse_filter
from llmdeck.vectors.types import (
    Embed,
    Embeddings,
    Fusion,
    Hit,
    Item,
    Record,
    SearchMode,
    Spec,
    Vector,
    VectorError,
    as_matrix,
    normalise,
)

MAX_K = 1000
MAX_ID = 200


@dataclass(frozen=True, slots=True)
class Written:
    """What an upsert did: items written, embedding tokens and cost spent, and the vectors."""

    count: int
    tokens: int
    cost: float
    vectors: Vector


class Collection:
    """Upsert, delete and search one collection version."""

    def __init__(self, spec: Spec, index: Index, embed: Embed | None = None) -> None:
        self.spec = spec
        self.index = index
        self.embed = embed
        self.mirrors: list[Collection] = []  # shadow versions that receive every write

    @property
    def name(self) -> str:
        """The collection's name."""
        return self.spec.name

    def embed_texts(self, texts: list[str]) -> Embeddings:
        """Embed with this collection's model; VectorError if none is wired or the size is off."""
        if self.embed is None:
            raise VectorError(
                f"collection {self.name!r} has no embedder here: pass vectors, not text",
                code="no_embedder",
            )
        result = self.embed(texts, self.spec.model)
        matrix = as_matrix(result.vectors, self.spec.dim, f"embeddings from {self.spec.model}")
        return Embeddings(self._prepare(matrix), result.tokens, result.cost)

    def _prepare(self, matrix: Vector) -> Vector:
        return normalise(matrix) if self.spec.normalize else matrix

    def _check_model(self, model: str | None, where: str) -> None:
        if model is not None and model != self.spec.model:
            raise VectorError(
                f"{where}: vectors from model {model!r}, but collection {self.name!r} holds "
                f"{self.spec.model!r} embeddings (dimension {self.spec.dim})",
                param=where,
                code="wrong_model",
            )

    def upsert(self, items: Sequence[Item], *, model: str | None = None) -> Written:
        """Insert or replace items by id. Items without a vector are embedded from their text;
        `model` names the model that made the given vectors (refused if it is not ours)."""
        self._check_model(model, "model")
        latest = {_check_id(item.id, f"items[{i}].id"): (i, item) for i, item in enumerate(items)}
        batch = [item for _, item in latest.values()]
        if not batch:
            return Written(0, 0, 0.0, np.zeros((0, self.spec.dim), np.float32))
        vectors = np.zeros((len(batch), self.spec.dim), dtype=np.float32)
        missing = [i for i, item in enumerate(batch) if item.vector is None]
        given = [i for i, item in enumerate(batch) if item.vector is not None]
        where = [f"items[{i}].vector" for i, _ in latest.values()]
        for i in given:
            vectors[i] = as_matrix(batch[i].vector, self.spec.dim, where[i])[0]  # type: ignore[arg-type]
        tokens, cost = 0, 0.0
        if given:
            vectors[given] = self._prepare(vectors[given])
        if missing:
            made = self.embed_texts([batch[i].text for i in missing])
            vectors[missing] = made.vectors
            tokens, cost = made.tokens, made.cost
        ids = [item.id for item in batch]
        self.index.upsert(ids, vectors, [i.text for i in batch], [i.metadata for i in batch])
        for mirror in self.mirrors:
            mirror.upsert([Item(i.id, i.text, i.metadata) for i in batch])
        return Written(len(batch), tokens, cost, vectors)

    def delete(self, ids: Sequence[str]) -> int:
        """Delete by id; returns how many existed."""
        for mirror in self.mirrors:
            mirror.delete(ids)
        return self.index.delete(list(ids))

    def get(self, ids: Sequence[str], *, vectors: bool = False) -> list[Record]:
        """Stored items by id (missing ids are left out)."""
        return self.index.get(list(ids), vectors=vectors)

    def count(self) -> int:
        """How many items the collection holds."""
        return self.index.count()

    def query_vector(self, query: str | None, vector: Any, model: str | None) -> Vector:
        """The search vector: given (checked) or embedded from the query text."""
        if vector is not None:
            self._check_model(model, "vector")
            given: Vector = self._prepare(as_matrix(vector, self.spec.dim, "vector"))[0]
            return given
        if not query:
            raise VectorError("give a query text or a vector", param="query")
        embedded: Vector = self.embed_texts([query]).vectors[0]
        return embedded

    def search(
        self,
        query: str | None = None,
        *,
        vector: Any = None,
        k: int = 10,
        filter: Any = None,
        mode: SearchMode = "vector",
        fusion_method: Fusion = "rrf",
        alpha: float = 0.5,
        model: str | None = None,
        exact: bool = False,
        params: IndexSettings | None = None,
    ) -> list[Hit]:
        """Vector, keyword or hybrid search, best first, with an optional metadata filter."""
        if not 1 <= k <= MAX_K:
            raise VectorError(f"k: must be between 1 and {MAX_K}", param="k")
        if not 0.0 <= alpha <= 1.0:
            raise VectorError("alpha: must be between 0 and 1", param="alpha")
        flt = parse_filter(filter)
        if mode != "vector" and not query:
            raise VectorError(f"{mode} search needs a query text", param="query")
        vector_hits: list[Scored] = []
        keyword_hits: list[Scored] = []
        wide = k if mode != "hybrid" else max(4 * k, 40)
        if mode != "keyword":
            q = self.query_vector(query, vector, model)
            vector_hits = self.index.vector_search(q, wide, flt, exact=exact, params=params)
        if mode != "vector":
            keyword_hits = self.index.keyword_search(query or "", wide, flt)
        if mode == "vector":
            ranked = vector_hits
        elif mode == "keyword":
            ranked = keyword_hits
        elif fusion_method == "weighted":
            ranked = fusion.weighted(vector_hits, keyword_hits, k, alpha)
        else:
            ranked = fusion.rrf(vector_hits, keyword_hits, k)
        return self._hits(ranked, dict(vector_hits), dict(keyword_hits), mode)

    def _hits(
        self,
        ranked: list[Scored],
        by_vector: dict[str, float],
        by_keyword: dict[str, float],
        mode: SearchMode,
    ) -> list[Hit]:
        records = {r.id: r for r in self.index.get([i for i, _ in ranked])}
        hybrid = mode == "hybrid"
        return [
            Hit(
                ident,
                score,
                records[ident].text,
                records[ident].metadata,
                by_vector.get(ident) if hybrid else None,
                by_keyword.get(ident) if hybrid else None,
            )
            for ident, score in ranked
            if ident in records
        ]


def _check_id(ident: Any, where: str) -> str:
    if not isinstance(ident, str) or not ident or len(ident) > MAX_ID:
        raise VectorError(f"{where}: an id is a non-empty string of at most {MAX_ID}", param=where)
    return ident
