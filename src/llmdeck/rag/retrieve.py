"""Retrieval: a question to the best chunks of a collection.

Hybrid search (RRF or weighted fusion) through llmdeck.vectors, with the pipeline's metadata
filter; near-identical chunks dropped; an optional local rerank (MMR, or by embedding
similarity alone). The question is embedded first, on its own, so that an embedding endpoint
that is down degrades the search to keyword-only (flagged) instead of failing it, while a
vector store that is down fails it with a 503."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmdeck.config import RetrievalSettings
from llmdeck.errors import ApiError
from llmdeck.rag.types import Retrieval, Retrieved, StoreUnavailable
from llmdeck.vectors import Collection, Hit, VectorService

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Query:
    """One retrieval request, settings already merged."""

    collection: str
    text: str
    k: int
    settings: RetrievalSettings
    filter: dict[str, Any] | None = None


def open_collection(vectors: VectorService, name: str) -> Collection:
    """The collection; 404 if unknown, 503 if the store does not answer."""
    try:
        return vectors.collection(name)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver or file error: the store is down
        raise StoreUnavailable(
            f"vector store unavailable for collection {name!r}: {_reason(exc)}",
            code="vector_store_unavailable",
        ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def retrieve(vectors: VectorService, query: Query) -> Retrieval:
    """Search (blocking: run it in a thread); `timings` in milliseconds per sub-stage."""
    settings = query.settings
    result = Retrieval([], mode=settings.mode)
    clock = time.perf_counter()
    collection = open_collection(vectors, query.collection)
    vector = None
    if settings.mode != "keyword":
        try:
            vector = collection.embed_texts([query.text]).vectors[0]
        except Exception:  # noqa: BLE001 - whatever failed, the words can still be searched
            result.degraded.append("embedding")
            result.mode = "keyword"
        result.timings["embed"] = _ms(clock)
    clock = time.perf_counter()
    wide = max(query.k, settings.candidates) if _widens(settings) else query.k
    flt = _merged(settings.filter, query.filter)
    try:
        hits = collection.search(
            query.text,
            vector=vector,
            k=wide,
            filter=flt,
            mode=result.mode,  # type: ignore[arg-type]
            fusion_method=settings.fusion,
            alpha=settings.alpha,
        )
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver or index error: the store is down
        raise StoreUnavailable(
            f"vector store unavailable for collection {query.collection!r}: {_reason(exc)}",
            code="vector_store_unavailable",
        ) from None
    result.timings["search"] = _ms(clock)
    clock = time.perf_counter()
    hits = dedup(hits, settings.dedup)
    if settings.rerank in ("mmr", "embedding") and vector is not None:
        hits = local_rerank(collection, hits, vector, settings)
        result.timings["rerank"] = _ms(clock)
    elif settings.rerank in ("mmr", "embedding"):
        result.degraded.append("rerank")
    result.chunks = [to_retrieved(h) for h in hits[: query.k if settings.rerank != "llm" else wide]]
    return result


def _widens(settings: RetrievalSettings) -> bool:
    return settings.rerank != "none" or settings.dedup > 0


def _merged(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a and b:
        return {"$and": [a, b]}
    return a or b or None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def to_retrieved(hit: Hit) -> Retrieved:
    """A vectors Hit as a retrieved chunk."""
    document = hit.metadata.get("document_id", hit.id.rsplit("#", 1)[0])
    return Retrieved(hit.id, str(document), hit.score, hit.text, hit.metadata)


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def dedup(hits: list[Hit], threshold: float) -> list[Hit]:
    """Hits without those whose text is near-identical (Jaccard of word 3-grams at or above
    `threshold`) to a better-ranked one; 0 turns it off."""
    if threshold <= 0:
        return hits
    kept: list[tuple[Hit, set[tuple[str, ...]]]] = []
    for hit in hits:
        grams = _shingles(hit.text)
        if any(_jaccard(grams, seen) >= threshold for _, seen in kept):
            continue
        kept.append((hit, grams))
    return [hit for hit, _ in kept]


def _jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def local_rerank(
    collection: Collection, hits: list[Hit], query: np.ndarray, settings: RetrievalSettings
) -> list[Hit]:
    """`embedding`: order by similarity to the question alone. `mmr`: maximal marginal
    relevance, trading similarity to the question against similarity to chunks already taken
    (`mmr_lambda` 1: relevance only)."""
    records = {r.id: r for r in collection.get([h.id for h in hits], vectors=True)}
    usable = [h for h in hits if h.id in records and records[h.id].vector is not None]
    if not usable:
        return hits
    matrix = np.stack([np.asarray(records[h.id].vector, dtype=np.float32) for h in usable])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True).clip(1e-12)
    q = query / max(float(np.linalg.norm(query)), 1e-12)
    relevance = matrix @ q
    if settings.rerank == "embedding":
        order = list(np.argsort(-relevance))
    else:
        order = _mmr(matrix, relevance, settings.mmr_lambda)
    return [_rescored(usable[i], float(relevance[i])) for i in order]


def _mmr(matrix: np.ndarray, relevance: np.ndarray, weight: float) -> list[int]:
    chosen: list[int] = []
    left = list(range(len(relevance)))
    while left:
        if chosen:
            similar = (matrix[left] @ matrix[chosen].T).max(axis=1)
        else:
            similar = np.zeros(len(left))
        scores = weight * relevance[left] - (1 - weight) * similar
        best = left[int(np.argmax(scores))]
        chosen.append(best)
        left.remove(best)
    return chosen


def _rescored(hit: Hit, score: float) -> Hit:
    return Hit(hit.id, score, hit.text, hit.metadata, hit.vector_score, hit.keyword_score)
