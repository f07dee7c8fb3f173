"""Retrieval-quality monitoring: golden queries with their relevant ids, recall@k and MRR
measured into a time series (on a schedule, after ingestion, around migrations), an event when
recall drops past a threshold, and drift of new embeddings from the collection's distribution."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, select

from llmdeck.config import VectorsSettings
from llmdeck.observe import Event, Recorder
from llmdeck.store import Store
from llmdeck.store.tables import (
    vector_collections,
    vector_drift,
    vector_events,
    vector_golden,
    vector_quality,
)
from llmdeck.vectors.collection import Collection
from llmdeck.vectors.types import Vector, VectorError, plain

SHIFT_EVENT = 0.1  # centroid cosine shift that records a drift event
NN_EVENT = 1.5  # new data this many times farther from its neighbours than the baseline
WARNINGS = ("quality_drop", "drift")
DRIFT_SAMPLE = 64  # new vectors measured per ingestion (each costs one nearest-neighbour search)


@dataclass(frozen=True, slots=True)
class Golden:
    """A query and the ids a good retrieval returns for it."""

    id: str
    query: str
    relevant_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Score:
    """Mean recall@k and MRR over the golden queries."""

    k: int
    queries: int
    recall: float
    mrr: float


class Quality:
    """Golden queries, measurements, drift and events for every collection."""

    def __init__(
        self, store: Store, settings: VectorsSettings, recorder: Recorder | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.recorder = recorder
        self._cache: OrderedDict[tuple[str, str], Vector] = OrderedDict()
        self._lock = threading.Lock()

    # -- golden queries ------------------------------------------------------------------------

    def set_golden(self, name: str, golden: list[Golden]) -> int:
        """Replace the collection's golden queries."""
        now = time.time()
        rows = [
            {
                "collection": name,
                "id": g.id,
                "query": g.query,
                "relevant_ids": list(g.relevant_ids),
                "created_at": now,
            }
            for g in golden
        ]

        def replace(conn: Connection) -> None:
            conn.execute(vector_golden.delete().where(vector_golden.c.collection == name))
            if rows:
                conn.execute(vector_golden.insert(), rows)

        self.store.write(replace)
        return len(rows)

    def golden(self, name: str) -> list[Golden]:
        """The collection's golden queries."""
        query = (
            select(vector_golden)
            .where(vector_golden.c.collection == name)
            .order_by(vector_golden.c.id)
        )
        rows = self.store.read(lambda conn: conn.execute(query).all())
        return [Golden(r.id, r.query, tuple(r.relevant_ids or ())) for r in rows]

    # -- measuring -----------------------------------------------------------------------------

    def evaluate(self, collection: Collection, golden: list[Golden], k: int) -> Score:
        """recall@k and MRR of vector search over `golden` (query embeddings are cached)."""
        recalls, ranks = [], []
        for item in golden:
            vector = self._query_vector(collection, item.query)
            hits = collection.search(vector=vector, k=k, model=collection.spec.model)
            found = [h.id for h in hits]
            relevant = set(item.relevant_ids)
            recalls.append(len(relevant & set(found)) / max(len(relevant), 1))
            first = next((i for i, ident in enumerate(found, 1) if ident in relevant), None)
            ranks.append(0.0 if first is None else 1.0 / first)
        n = len(golden)
        return Score(
            k, n, float(np.mean(recalls)) if n else 0.0, float(np.mean(ranks)) if n else 0.0
        )

    def _query_vector(self, collection: Collection, text: str) -> Vector:
        key = (collection.spec.model, text)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        vector: Vector = collection.embed_texts([text]).vectors[0]
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)
        return vector

    def measure(self, collection: Collection, trigger: str) -> Score | None:
        """Measure the collection's golden queries, store the point, and record an event if
        recall fell more than `quality_drop` since the last point. None without golden queries."""
        golden = self.golden(collection.name)
        if not golden:
            return None
        score = self.evaluate(collection, golden, self.settings.quality_k)
        previous = self.history(collection.name, limit=1)
        self._store_point(collection, trigger, score)
        if previous and previous[0]["recall"] - score.recall > self.settings.quality_drop:
            before = previous[0]["recall"]
            self.event(
                collection.name,
                "quality_drop",
                f"recall@{score.k} fell from {before:.3f} to {score.recall:.3f} ({trigger})",
                {"before": previous[0], "after": _score_dict(score), "trigger": trigger},
            )
        return score

    def _store_point(self, collection: Collection, trigger: str, score: Score) -> None:
        row = {
            "collection": collection.name,
            "version": collection.spec.version,
            "at": time.time(),
            "trigger": trigger,
            **_score_dict(score),
        }
        self.store.write(lambda conn: conn.execute(vector_quality.insert().values(**row)))

    def history(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Quality points, newest first."""
        return self._newest(vector_quality, name, limit)

    # -- events --------------------------------------------------------------------------------

    def event(self, name: str, kind: str, message: str, data: dict[str, Any]) -> None:
        """Record an event in the collection's history, and in llmdeck's event stream
        (`vectors.quality_drop`, `vectors.drift`, ...) when a recorder is wired."""
        row = {"collection": name, "at": time.time(), "kind": kind}
        row.update(message=message, data=data)
        self.store.write(lambda conn: conn.execute(vector_events.insert().values(**row)))
        if self.recorder is not None:
            self.recorder.record_event(
                Event(
                    name=f"vectors.{kind}",
                    level="warning" if kind in WARNINGS else "info",
                    message=message,
                    source=f"vectors/{name}",
                    attributes={"collection": name, **data},
                )
            )

    def events(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Events, newest first."""
        return self._newest(vector_events, name, limit)

    # -- drift ---------------------------------------------------------------------------------

    def drift(
        self, collection: Collection, ids: list[str], vectors: Vector
    ) -> dict[str, Any] | None:
        """Compare newly written vectors with the collection's baseline (made on first use from
        a sample): the centroid's cosine shift and the mean distance to the nearest other item."""
        spec = collection.spec
        baseline = self._baseline(collection)
        if baseline is None or not len(ids):
            return None
        rng = np.random.default_rng(len(ids))
        pick = rng.choice(len(ids), size=min(DRIFT_SAMPLE, len(ids)), replace=False)
        centroid = vectors[pick].mean(axis=0)
        shift = _cosine_distance(centroid, np.asarray(baseline["centroid"], dtype=np.float32))
        nn = _mean_nn_distance(collection, [ids[i] for i in pick], vectors[pick])
        row = {
            "collection": spec.name,
            "version": spec.version,
            "at": time.time(),
            "sample": len(pick),
            "centroid_shift": shift,
            "nn_distance": nn,
            "baseline_nn_distance": baseline["nn_distance"],
        }
        self.store.write(lambda conn: conn.execute(vector_drift.insert().values(**row)))
        far = nn > NN_EVENT * max(baseline["nn_distance"], 1e-6)
        if shift > SHIFT_EVENT or far:
            message = f"new data drifted: centroid shift {shift:.3f}, nn distance {nn:.3f}"
            self.event(spec.name, "drift", message, row)
        return row

    def _baseline(self, collection: Collection) -> dict[str, Any] | None:
        spec, table = collection.spec, vector_collections
        where = (table.c.name == spec.name, table.c.version == spec.version)
        query = select(table.c.drift_baseline).where(*where)
        found = self.store.read(lambda conn: conn.execute(query).scalar())
        if found:
            return dict(found)
        sample = collection.index.sample(2000, seed=0)
        if len(sample) < 20:
            return None
        matrix = np.stack([r.vector for r in sample if r.vector is not None])
        baseline = {
            "centroid": matrix.mean(axis=0).tolist(),
            "nn_distance": _mean_nn_distance(
                collection, [r.id for r in sample[:200]], matrix[:200]
            ),
            "rows": len(sample),
            "at": time.time(),
        }
        update = table.update().where(*where).values(drift_baseline=baseline)
        self.store.write(lambda conn: conn.execute(update))
        return None  # the data just written is part of the baseline

    def _newest(self, table: Table, name: str, limit: int) -> list[dict[str, Any]]:
        query = (
            select(table)
            .where(table.c.collection == name)
            .order_by(table.c.at.desc(), table.c.id.desc())
            .limit(limit)
        )
        return [plain(r) for r in self.store.read(lambda c: c.execute(query).mappings().all())]

    def drift_history(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Drift points, newest first."""
        return self._newest(vector_drift, name, limit)


def _score_dict(score: Score) -> dict[str, Any]:
    return {"k": score.k, "queries": score.queries, "recall": score.recall, "mrr": score.mrr}


def _cosine_distance(a: Vector, b: Vector) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 0.0 if norm == 0 else float(1.0 - (a @ b) / norm)


def _mean_nn_distance(collection: Collection, ids: list[str], vectors: Vector) -> float:
    """Mean distance from each vector to its nearest item other than itself."""
    metric = collection.spec.metric
    distances = []
    for ident, vector in zip(ids, vectors, strict=True):
        hits = collection.index.vector_search(vector, 2, None)
        other = next((s for i, s in hits if i != ident), None)
        if other is not None:
            distances.append(1.0 - other if metric == "cosine" else -other)
    return float(np.mean(distances)) if distances else 0.0


def parse_golden(rows: list[Any]) -> list[Golden]:
    """Golden queries from JSON rows `{"id"?, "query", "relevant_ids"}`; errors name the row."""
    out = []
    for index, row in enumerate(rows):
        where = f"golden[{index}]"
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row["query"]:
            raise VectorError(f"{where}.query: a non-empty string is required", param=where)
        relevant = row.get("relevant_ids")
        if (
            not isinstance(relevant, list)
            or not relevant
            or not all(isinstance(r, str) for r in relevant)
        ):
            raise VectorError(f"{where}.relevant_ids: a non-empty list of ids", param=where)
        out.append(Golden(str(row.get("id") or f"q{index}"), row["query"], tuple(relevant)))
    return out
