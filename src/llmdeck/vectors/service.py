"""VectorService: what the server and the CLI use. Collections (Vectors), their quality
monitoring and their migrations, with ingestion that records drift and measures quality."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmdeck.config import IndexSettings, VectorsSettings
from llmdeck.observe import Recorder
from llmdeck.store import Store
from llmdeck.vectors.collection import Collection, Written
from llmdeck.vectors.manager import Vectors
from llmdeck.vectors.migrate import Migrations, Plan
from llmdeck.vectors.quality import Quality
from llmdeck.vectors.tune import Progress, Tuning, tune
from llmdeck.vectors.types import Embed, Item, VectorError

log = logging.getLogger("llmdeck.vectors")


class VectorService:
    """Collections, quality and migrations over one Store."""

    def __init__(
        self,
        store: Store,
        settings: VectorsSettings,
        home: Path,
        *,
        embed: Embed | None = None,
        database_url: str | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.vectors = Vectors(store, settings, home, embed=embed, database_url=database_url)
        self.quality = Quality(store, settings, recorder)
        self.migrations = Migrations(self.vectors, self.quality)
        self._jobs: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def collection(self, name: str) -> Collection:
        """The serving version of `name`, with the shadow of an open migration mirrored."""
        collection = self.vectors.get(name)
        self.migrations.attach(name)
        return collection

    def ingest(self, name: str, items: Sequence[Item], *, model: str | None = None) -> Written:
        """Upsert, then record drift and measure quality (when there are golden queries)."""
        collection = self.collection(name)
        written = collection.upsert(items, model=model)
        ids = list(dict.fromkeys(item.id for item in items))
        if written.count:
            self.quality.drift(collection, ids, written.vectors)
            self.quality.measure(collection, "ingest")
        return written

    def delete(self, name: str, ids: Sequence[str]) -> int:
        """Delete by id (mirrored into a migration's shadow)."""
        return self.collection(name).delete(ids)

    def tune(
        self,
        name: str,
        *,
        target_recall: float,
        k: int = 10,
        queries: int = 200,
        progress: Progress | None = None,
    ) -> Tuning:
        """Tune the serving version's search breadth and record the result."""
        collection = self.vectors.get(name)
        found = tune(
            collection, target_recall=target_recall, k=k, queries=queries, progress=progress
        )
        chosen = found.chosen or max(found.trials, key=lambda t: t.recall)
        settings = collection.spec.index.model_copy(update={found.parameter: chosen.setting})
        collection.index.configure(settings)
        self.vectors.set_index(collection.spec, settings, tuned_at=found.at, tuning=found.to_dict())
        return found

    def build(self, name: str, settings: IndexSettings) -> None:
        """Build (or rebuild) the ANN index of the serving version with `settings`."""
        collection = self.vectors.get(name)
        collection.index.build(settings)
        self.vectors.set_index(collection.spec, settings, tuned_at=None, tuning=None)

    def optimize(self, name: str) -> dict[str, Any]:
        """Compact the serving version; returns its stats before and after."""
        collection = self.vectors.get(name)
        before = collection.index.stats()
        collection.index.optimize()
        return {"before": before, "after": collection.index.stats()}

    def stats(self, name: str) -> dict[str, Any]:
        """Everything about a collection: spec, rows, size, index, tuning, versions, quality."""
        alias = self.vectors.alias(name)
        collection = self.vectors.get(name)
        versions = self.vectors.versions(name)
        current = next(v for v in versions if v["version"] == alias["version"])
        history = self.quality.history(name, limit=1)
        spec = collection.spec
        return {
            "name": name,
            "version": spec.version,
            "previous_version": alias["previous_version"],
            "backend": spec.backend,
            "model": spec.model,
            "dim": spec.dim,
            "metric": spec.metric,
            "normalize": spec.normalize,
            "index_settings": spec.index.model_dump(),
            "tuned_at": current["tuned_at"],
            "tuning": current["tuning"],
            **collection.index.stats(),
            "versions": [
                {"version": v["version"], "model": v["model"], "dim": v["dim"], "state": v["state"]}
                for v in versions
            ],
            "quality": history[0] if history else None,
            "migration": self.migrations.status(name),
        }

    def list(self) -> list[dict[str, Any]]:
        """One summary per collection, from the Store alone (no backend is opened)."""
        out = []
        for name in self.vectors.names():
            spec = self.vectors.spec(name)
            row = next(v for v in self.vectors.versions(name) if v["version"] == spec.version)
            out.append(
                {
                    "name": name,
                    "version": spec.version,
                    "backend": spec.backend,
                    "model": spec.model,
                    "dim": spec.dim,
                    "metric": spec.metric,
                    "index": spec.index.type,
                    "tuned_at": row["tuned_at"],
                }
            )
        return out

    def measure_all(self, trigger: str = "schedule") -> int:
        """Measure every collection that has golden queries; returns how many were measured."""
        measured = 0
        for name in self.vectors.names():
            if self.quality.golden(name):
                self.quality.measure(self.vectors.get(name), trigger)
                measured += 1
        return measured

    def migrate_in_background(
        self, name: str, model: str | None, plan: Plan, *, dim: int | None = None
    ) -> dict[str, Any]:
        """Start (with `model`) or resume (model None) a migration on a background thread."""
        job = self._jobs.get(name)
        if job is not None and job[0].is_alive():
            raise VectorError(f"the migration of {name!r} is already running")
        if model is not None:
            self.migrations.start(name, model, dim=dim)
        elif self.migrations.open_migration(name) is None:
            raise VectorError(f"collection {name!r} has no migration to resume", param="model")
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(name, plan, stop), name=f"llmdeck-migrate-{name}", daemon=True
        )
        self._jobs[name] = (thread, stop)
        thread.start()
        status = self.migrations.status(name)
        assert status is not None
        return status

    def _run(self, name: str, plan: Plan, stop: threading.Event) -> None:
        try:
            self.migrations.run(name, plan, stop=stop)
        except Exception:  # recorded on the migration as `failed`; the thread must not die loudly
            log.exception("migration of %s failed", name)

    def close(self) -> None:
        """Stop background migrations (they resume later), close every collection."""
        for thread, stop in self._jobs.values():
            stop.set()
            thread.join(timeout=60)
        self._jobs.clear()
        self.vectors.close()


def age(at: float | None) -> str:
    """'3m ago'-style text for a timestamp (or 'never')."""
    if at is None:
        return "never"
    seconds = max(0.0, time.time() - at)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"
