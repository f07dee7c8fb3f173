"""The embedded engine: a collection version in a folder under LLMDECK_HOME.

    items.db      SQLite: ids, texts, metadata, vectors (the source of truth) and FTS5 for BM25
    ann.faiss     the FAISS index over vector slots, saved now and then and on close
    ann-slots.npy which item position each saved slot holds
    lock          held while a process has the collection open (one process writes it)

In memory: the vectors as one float32 matrix (for exact search), metadata as typed columns (for
filters), and the ANN index. Each search picks exact or ANN by the filter's selectivity: a
filter that keeps few rows is answered exactly over just those rows (always full recall, and
cheap); a broad one walks the graph with a bitmap of allowed rows, widening the search as the
share of allowed rows falls.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from llmdeck.config import IndexSettings, Metric
from llmdeck.vectors.backends.ann import Ann
from llmdeck.vectors.backends.base import Scored
from llmdeck.vectors.backends.files import disk_bytes, exclusive
from llmdeck.vectors.backends.rwlock import RWLock
from llmdeck.vectors.backends.sqlite_items import SqliteItems
from llmdeck.vectors.columns import Columns
from llmdeck.vectors.filters import Filter
from llmdeck.vectors.types import Metadata, Record, Vector

_SAVE_EVERY = 0.2  # save the ANN index once this share of its slots is unsaved


class EmbeddedIndex:
    """One collection version on local disk."""

    def __init__(
        self, location: Path, dim: int, metric: Metric, settings: IndexSettings, exact_below: int
    ) -> None:
        location.mkdir(parents=True, exist_ok=True)
        self.location = location
        self._lock_file = exclusive(location / "lock")
        self.dim, self.metric, self.settings, self.exact_below = dim, metric, settings, exact_below
        self.items = SqliteItems(location / "items.db")
        self._rw = RWLock()
        self._writer = threading.Lock()
        self._load(use_saved=True)

    # -- state ---------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.size = self.live = self.saved = 0
        self.matrix = np.zeros((0, self.dim), dtype=np.float32)
        self.norms2 = np.zeros(0, dtype=np.float32)
        self.slot_pos = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)
        self.slot_id: list[str] = []
        self.id_slot: dict[str, int] = {}
        self.pos_slot: dict[int, int] = {}
        self.columns = Columns()
        self.ann: Ann | None = None

    def _reserve(self, capacity: int) -> None:
        if capacity <= len(self.alive):
            return
        capacity = max(capacity, 2 * len(self.alive), 1024)
        grow = capacity - len(self.alive)
        self.matrix = np.concatenate([self.matrix, np.zeros((grow, self.dim), np.float32)])
        self.norms2 = np.concatenate([self.norms2, np.zeros(grow, np.float32)])
        self.slot_pos = np.concatenate([self.slot_pos, np.full(grow, -1, np.int64)])
        self.alive = np.concatenate([self.alive, np.zeros(grow, bool)])
        self.slot_id.extend([""] * grow)

    def _place(self, slot: int, pos: int, ident: str, metadata: Metadata) -> None:
        self.slot_pos[slot] = pos
        self.slot_id[slot] = ident
        self.alive[slot] = True
        self.id_slot[ident] = slot
        self.pos_slot[pos] = slot
        self.columns.set(slot, metadata)
        self.live += 1

    def _kill(self, slot: int) -> None:
        if self.alive[slot]:
            self.alive[slot] = False
            self.live -= 1
            self.id_slot.pop(self.slot_id[slot], None)
            self.pos_slot.pop(int(self.slot_pos[slot]), None)

    def _load(self, *, use_saved: bool) -> None:
        """Rebuild the in-memory state from SQLite, reusing the saved ANN index if it is valid."""
        self._reset()
        saved = self._read_saved() if use_saved else None
        rows = list(self.items.all_rows())
        self._reserve(len(rows) + (0 if saved is None else len(saved)))
        fresh: list[tuple[int, str, Metadata, bytes]] = rows
        if saved is not None:
            by_pos = {int(p): i for i, p in enumerate(saved)}
            top = int(saved.max()) if len(saved) else -1
            self.size = self.saved = len(saved)
            self.slot_pos[: self.size] = saved
            fresh = []
            for pos, ident, meta, vec in rows:
                slot = by_pos.get(pos)
                if slot is None and pos <= top:  # not the index we saved with: start over
                    return self._load(use_saved=False)
                if slot is None:
                    fresh.append((pos, ident, meta, vec))
                else:
                    self._set_vector(slot, vec)
                    self._place(slot, pos, ident, meta)
        self._append(
            [r[0] for r in fresh],
            [r[1] for r in fresh],
            [r[2] for r in fresh],
            _matrix([r[3] for r in fresh], self.dim),
        )
        self.next_pos = int(self.slot_pos[: self.size].max()) + 1 if self.size else 0
        if self.ann is None:
            self._maybe_build()

    def _set_vector(self, slot: int, raw: bytes) -> None:
        vector = np.frombuffer(raw, dtype=np.float32, count=self.dim)
        self.matrix[slot] = vector
        self.norms2[slot] = float(vector @ vector)

    def _append(
        self,
        positions: Sequence[int],
        ids: Sequence[str],
        metadata: Sequence[Metadata],
        vectors: Vector,
    ) -> None:
        start = self.size
        self._reserve(start + len(ids))
        self.matrix[start : start + len(ids)] = vectors
        self.norms2[start : start + len(ids)] = np.einsum("ij,ij->i", vectors, vectors)
        for offset, (pos, ident, meta) in enumerate(zip(positions, ids, metadata, strict=True)):
            self._place(start + offset, pos, ident, meta)
        self.size += len(ids)
        if self.ann is not None and len(ids):
            self.ann.add(vectors)

    def _maybe_build(self, force: bool = False) -> None:
        if self.settings.type == "flat" or not self.size:
            return
        if force or self.live >= max(self.exact_below, 1):
            ann = Ann(self.settings, self.dim, self.metric)
            ann.build(self.matrix[: self.size])
            self.ann = ann
            self.saved = 0

    # -- persistence of the ANN index ----------------------------------------------------------

    def _paths(self) -> tuple[Path, Path, Path]:
        loc = self.location
        return loc / "ann.faiss", loc / "ann-slots.npy", loc / "ann.json"

    def _read_saved(self) -> npt.NDArray[np.int64] | None:
        index_path, slots_path, meta_path = self._paths()
        if not (index_path.exists() and slots_path.exists() and meta_path.exists()):
            return None
        meta = orjson.loads(meta_path.read_bytes())
        if meta.get("build") != _build_key(self.settings) or meta.get("dim") != self.dim:
            return None
        slots: npt.NDArray[np.int64] = np.load(slots_path)
        ann = Ann(self.settings, self.dim, self.metric)
        ann.load(index_path)
        if ann.size != len(slots):
            return None
        self.ann = ann
        return slots

    def flush(self) -> None:
        """Save the ANN index if it has unsaved slots."""
        with self._writer, self._rw.read():
            self._save()

    def _save(self) -> None:
        index_path, slots_path, meta_path = self._paths()
        if self.ann is None:
            for path in (index_path, slots_path, meta_path):
                path.unlink(missing_ok=True)
            return
        if self.saved == self.size:
            return
        meta_path.unlink(missing_ok=True)  # invalid until all three are written
        self.ann.save(index_path)
        np.save(slots_path, self.slot_pos[: self.size])
        meta = {"build": _build_key(self.settings), "dim": self.dim, "size": self.size}
        meta_path.write_bytes(orjson.dumps(meta))
        self.saved = self.size

    # -- writes --------------------------------------------------------------------------------

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vector,
        texts: Sequence[str],
        metadata: Sequence[Metadata],
    ) -> None:
        """Insert or replace by id: SQLite first (durable), then memory and the ANN index."""
        with self._writer:
            positions = list(range(self.next_pos, self.next_pos + len(ids)))
            self.items.replace(positions, ids, vectors, texts, metadata)
            self.next_pos += len(ids)
            with self._rw.write():
                for ident in ids:
                    old = self.id_slot.get(ident)
                    if old is not None:
                        self._kill(old)
                self._append(positions, ids, metadata, vectors)
                if self.ann is None:
                    self._maybe_build()
            if self.ann is not None and self.size - self.saved > _SAVE_EVERY * self.size:
                with self._rw.read():
                    self._save()

    def delete(self, ids: Sequence[str]) -> int:
        """Delete by id; the slots stay in the ANN graph, masked out, until `optimize`."""
        with self._writer:
            gone = self.items.delete(ids)
            with self._rw.write():
                for pos in gone:
                    slot = self.pos_slot.get(pos)
                    if slot is not None:
                        self._kill(slot)
            return len(gone)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], *, vectors: bool = False) -> list[Record]:
        """Stored items among `ids`, in the order asked."""
        found = self.items.get(ids, self.dim, vectors)
        return [found[i] for i in ids if i in found]

    def scan(self, after: str, limit: int) -> list[Record]:
        """Items after `after` in id order."""
        return self.items.scan(after, limit)

    def count(self) -> int:
        """Live items."""
        return self.live

    def sample(self, n: int, seed: int) -> list[Record]:
        """Random live items with their vectors (no text)."""
        with self._rw.read():
            slots = np.flatnonzero(self.alive[: self.size])
            rng = np.random.default_rng(seed)
            chosen = rng.choice(slots, size=min(n, len(slots)), replace=False)
            return [Record(self.slot_id[s], "", {}, self.matrix[s].copy()) for s in chosen]

    def vector_search(
        self,
        vector: Vector,
        k: int,
        flt: Filter | None,
        *,
        exact: bool = False,
        params: IndexSettings | None = None,
    ) -> list[Scored]:
        """Exact over the matching rows when that is cheap, else the ANN graph with a bitmap."""
        with self._rw.read():
            size = self.size
            mask = None
            if flt is not None:
                mask = self.columns.mask(flt, size) & self.alive[:size]
            elif self.live < size:
                mask = self.alive[:size]
            matching = self.live if mask is None else int(np.count_nonzero(mask))
            if matching == 0:
                return []
            if self.ann is None or exact or self._exact_is_cheaper(matching, mask, params):
                scores, slots = self._exact(vector, k, mask)
            else:
                allowed = None if mask is None else np.packbits(mask, bitorder="little")
                scores, slots = self.ann.search(
                    vector, k, allowed, matching / max(self.live, 1), params
                )
            return [(self.slot_id[s], float(x)) for s, x in zip(slots, scores, strict=True)]

    def _exact_is_cheaper(
        self, matching: int, mask: npt.NDArray[np.bool_] | None, params: IndexSettings | None
    ) -> bool:
        if mask is None:
            return False
        assert self.ann is not None
        return matching <= self.ann.cost_rows(matching / max(self.live, 1), params)

    def _exact(
        self, vector: Vector, k: int, mask: npt.NDArray[np.bool_] | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        rows = None if mask is None else np.flatnonzero(mask)
        sub = self.matrix[: self.size] if rows is None else self.matrix[rows]
        scores = sub @ vector
        if self.metric == "l2":
            norms = self.norms2[: self.size] if rows is None else self.norms2[rows]
            scores = -np.sqrt(np.maximum(norms - 2 * scores + vector @ vector, 0))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        slots = top if rows is None else rows[top]
        return scores[top].astype(np.float32), slots.astype(np.int64)

    def keyword_search(self, text: str, k: int, flt: Filter | None) -> list[Scored]:
        """BM25 (FTS5) over the texts, then the filter, paging until k items pass."""
        with self._rw.read():
            mask = None if flt is None else self.columns.mask(flt, self.size)
            out: list[Scored] = []
            page, offset = max(4 * k, 50), 0
            while len(out) < k:
                rows = self.items.keyword(text, page, offset)
                for pos, score in rows:
                    slot = self.pos_slot.get(pos)
                    if slot is not None and (mask is None or mask[slot]):
                        out.append((self.slot_id[slot], score))
                if len(rows) < page:
                    break
                offset += page
            return out[:k]

    # -- index management ----------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> None:
        """New search-time settings; a different build (type, m, lists) needs `build`."""
        with self._rw.write():
            self.settings = settings
            if self.ann is not None:
                self.ann.settings = settings

    def build(self, settings: IndexSettings) -> None:
        """Compact and build the ANN index afresh with `settings`, then save it."""
        with self._writer, self._rw.write():
            self.settings = settings
            self._load(use_saved=False)
            if self.ann is None:
                self._maybe_build(force=True)
            self._save()

    def optimize(self) -> None:
        """Drop deleted rows from the file and the graph: compact SQLite, rebuild, save."""
        with self._writer, self._rw.write():
            self.items.compact()
            self._load(use_saved=False)
            self._save()

    def stats(self) -> dict[str, Any]:
        """Rows, deleted slots awaiting `optimize`, bytes on disk, the index's state."""
        with self._rw.read():
            return {
                "rows": self.live,
                "deleted": self.size - self.live,
                "bytes": disk_bytes(self.location),
                "index": {
                    "type": self.settings.type if self.ann is not None else "flat",
                    "built": self.ann is not None,
                    "size": 0 if self.ann is None else self.ann.size,
                    "exact_below": self.exact_below,
                },
            }

    def close(self) -> None:
        """Save the ANN index, close SQLite, release the folder."""
        with self._writer, self._rw.read():
            self._save()
        self.items.close()
        self._lock_file.close()

    def drop(self) -> None:
        """Close and delete the folder."""
        self.items.close()
        self._lock_file.close()
        shutil.rmtree(self.location, ignore_errors=True)


def _build_key(settings: IndexSettings) -> dict[str, Any]:
    keep = ("m", "ef_construction") if settings.type == "hnsw" else ("lists",)
    return {"type": settings.type, **{name: getattr(settings, name) for name in keep}}


def _matrix(blobs: Sequence[bytes], dim: int) -> Vector:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)
