"""The embedded engine's own promises: one process per collection, and catching up after a
crash from SQLite (the source of truth) when the saved ANN index is behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmdeck.config import IndexSettings
from llmdeck.vectors import CollectionBusy, parse_filter
from llmdeck.vectors.backends.embedded import EmbeddedIndex

HNSW = IndexSettings(type="hnsw", m=8, ef_construction=40, ef_search=32)


def _rows(n: int, start: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(start)
    data = rng.normal(size=(n, 8)).astype(np.float32)
    return [f"r{start + i}" for i in range(n)], data / np.linalg.norm(data, axis=1, keepdims=True)


def test_a_second_opener_is_refused(tmp_path: Path) -> None:
    first = EmbeddedIndex(tmp_path / "c", 8, "cosine", HNSW, exact_below=0)
    with pytest.raises(CollectionBusy, match="open in another llmdeck process"):
        EmbeddedIndex(tmp_path / "c", 8, "cosine", HNSW, exact_below=0)
    first.close()
    EmbeddedIndex(tmp_path / "c", 8, "cosine", HNSW, exact_below=0).close()


def test_catches_up_after_a_crash(tmp_path: Path) -> None:
    index = EmbeddedIndex(tmp_path / "c", 8, "cosine", HNSW, exact_below=0)
    ids, data = _rows(200)
    index.upsert(ids, data, [""] * 200, [{}] * 200)
    index.flush()  # the ANN index is saved with 200 slots
    more_ids, more = _rows(50, start=200)
    index.upsert(more_ids, more, [""] * 50, [{"late": True}] * 50)
    index.delete(["r0"])
    index.items.close()  # the process dies: no index save
    index._lock_file.close()
    again = EmbeddedIndex(tmp_path / "c", 8, "cosine", HNSW, exact_below=0)
    assert again.count() == 249
    assert again.ann is not None and again.ann.size == 250  # loaded 200, caught up 50
    hits = again.vector_search(more[7], 1, None)
    assert hits[0][0] == "r207"
    assert "r0" not in {i for i, _ in again.vector_search(data[0], 5, None)}
    flagged = again.vector_search(more[7], 100, parse_filter({"late": True}))
    assert {i for i, _ in flagged} == set(more_ids)
    again.close()
