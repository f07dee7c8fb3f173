"""Embedding migrations without downtime.

`start` makes a shadow version with the new model beside the serving one and records the
migration; `run` re-embeds every item's kept text into it in id order, saving a cursor after
each batch (so an interrupted run resumes where it stopped), while writes to the collection
are mirrored into the shadow. Then the golden queries are run against both versions (shadow
reads), and the name is switched to the new version only if recall@k and MRR hold (or when
forced). The old version is kept, so `rollback` is one atomic switch back.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from llmdeck.store.tables import vector_migrations
from llmdeck.vectors.manager import Vectors
from llmdeck.vectors.quality import Quality, Score
from llmdeck.vectors.types import Item, VectorError, plain

BATCH = 64
OPEN_STATES = ("running", "interrupted")
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Plan:
    """How a migration decides to switch."""

    force: bool = False
    max_drop: float = 0.0  # allowed fall in recall@k and MRR


class Migrations:
    """Start, run, resume, inspect and roll back embedding migrations."""

    def __init__(self, vectors: Vectors, quality: Quality) -> None:
        self.vectors = vectors
        self.quality = quality
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def start(self, name: str, model: str, *, dim: int | None = None) -> dict[str, Any]:
        """Create the shadow version and the migration record (state `running`)."""
        if self.open_migration(name) is not None:
            raise VectorError(
                f"collection {name!r} already has a migration in progress: resume it",
                code="migration_in_progress",
            )
        current = self.vectors.spec(name)
        number = max(v["version"] for v in self.vectors.versions(name)) + 1
        spec = self.vectors.new_spec(
            name,
            number,
            model,
            dim,
            current.metric,
            current.normalize,
            current.index,
            current.backend,
        )
        self.vectors.record_version(spec, "shadow")
        now = time.time()
        row = {
            "id": uuid.uuid4().hex,
            "collection": name,
            "source_version": current.version,
            "target_version": number,
            "model": model,
            "state": "running",
            "cursor": "",
            "done": 0,
            "total": self.vectors.get(name).count(),
            "tokens": 0,
            "cost": 0.0,
            "started_at": now,
            "updated_at": now,
        }
        self.vectors.store.write(
            lambda conn: conn.execute(vector_migrations.insert().values(**row))
        )
        self.attach(name)
        return row

    def open_migration(self, name: str) -> dict[str, Any] | None:
        """The migration of `name` that is running or was interrupted, if any."""
        table = vector_migrations
        query = select(table).where(table.c.collection == name, table.c.state.in_(OPEN_STATES))
        row = self.vectors.store.read(lambda conn: conn.execute(query).mappings().first())
        return None if row is None else plain(row)

    def status(self, name: str) -> dict[str, Any] | None:
        """The latest migration of `name`."""
        table = vector_migrations
        query = (
            select(table)
            .where(table.c.collection == name)
            .order_by(table.c.started_at.desc())
            .limit(1)
        )
        row = self.vectors.store.read(lambda conn: conn.execute(query).mappings().first())
        return None if row is None else plain(row)

    def attach(self, name: str) -> None:
        """Mirror writes to the serving version into the shadow of an open migration."""
        migration = self.open_migration(name)
        if migration is None:
            return
        serving = self.vectors.get(name, migration["source_version"])
        shadow = self.vectors.get(name, migration["target_version"])
        if shadow not in serving.mirrors:
            serving.mirrors.append(shadow)

    def run(
        self,
        name: str,
        plan: Plan = Plan(),
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Copy (from the saved cursor), compare, and switch if quality holds."""
        migration = self.open_migration(name)
        if migration is None:
            raise VectorError(f"collection {name!r} has no migration to run")
        with self._lock:
            if migration["id"] in self._running:
                raise VectorError(f"the migration of {name!r} is already running here")
            self._running.add(migration["id"])
        try:
            self.attach(name)
            self._update(migration, state="running")
            if not self._copy(migration, stop, progress):
                return self._update(migration, state="interrupted")
            return self._decide(migration, plan)
        except Exception as exc:
            self._update(migration, state="failed", error=str(exc) or type(exc).__name__)
            raise
        finally:
            with self._lock:
                self._running.discard(migration["id"])

    def _copy(
        self, migration: dict[str, Any], stop: threading.Event | None, progress: Progress | None
    ) -> bool:
        source = self.vectors.get(migration["collection"], migration["source_version"])
        shadow = self.vectors.get(migration["collection"], migration["target_version"])
        migration["total"] = source.count()
        while True:
            if stop is not None and stop.is_set():
                return False
            records = source.index.scan(migration["cursor"], BATCH)
            if not records:
                return True
            written = shadow.upsert([Item(r.id, r.text, r.metadata) for r in records])
            self._update(
                migration,
                cursor=records[-1].id,
                done=migration["done"] + len(records),
                tokens=migration["tokens"] + written.tokens,
                cost=migration["cost"] + written.cost,
                total=max(migration["total"], migration["done"] + len(records)),
            )
            if progress is not None:
                progress(migration)

    def _decide(self, migration: dict[str, Any], plan: Plan) -> dict[str, Any]:
        name = migration["collection"]
        old = self.vectors.get(name, migration["source_version"])
        new = self.vectors.get(name, migration["target_version"])
        old.mirrors = [m for m in old.mirrors if m is not new]
        golden = self.quality.golden(name)
        k = self.quality.settings.quality_k
        before = self.quality.evaluate(old, golden, k) if golden else None
        after = self.quality.evaluate(new, golden, k) if golden else None
        holds = _holds(before, after, plan.max_drop)
        comparison = {
            "golden_queries": len(golden),
            "before": None if before is None else _as_dict(before),
            "after": None if after is None else _as_dict(after),
            "quality_holds": holds,
            "forced": plan.force and not holds,
        }
        if holds or plan.force:
            self.vectors.switch(name, migration["target_version"])
            if golden:
                self.quality.measure(new, "migration")
            state = "switched"
        else:
            state = "held"
        message = f"migration to {migration['model']} {state}"
        self.quality.event(name, "migration", message, comparison)
        return self._update(migration, state=state, comparison=comparison, finished_at=time.time())

    def switch(self, name: str) -> dict[str, Any]:
        """Switch to the shadow of a held migration (the user accepts it)."""
        migration = self.status(name)
        if migration is None or migration["state"] != "held":
            raise VectorError(f"collection {name!r} has no held migration to switch to")
        self.vectors.switch(name, migration["target_version"])
        return self._update(migration, state="switched")

    def rollback(self, name: str) -> int:
        """Serve the previous version again (atomically); returns the version now served."""
        alias = self.vectors.alias(name)
        previous = alias["previous_version"]
        if previous is None:
            raise VectorError(f"collection {name!r} has no previous version to roll back to")
        self.vectors.switch(name, previous)
        self.quality.event(name, "rollback", f"rolled back to version {previous}", alias)
        return int(previous)

    def _update(self, migration: dict[str, Any], **values: Any) -> dict[str, Any]:
        migration.update(values, updated_at=time.time())
        table = vector_migrations
        keep = {k: v for k, v in migration.items() if k != "id"}
        update = table.update().where(table.c.id == migration["id"]).values(**keep)
        self.vectors.store.write(lambda conn: conn.execute(update))
        return migration


def _holds(before: Score | None, after: Score | None, max_drop: float) -> bool:
    if before is None or after is None:
        return False  # no golden queries: no evidence that quality holds
    return after.recall >= before.recall - max_drop and after.mrr >= before.mrr - max_drop


def _as_dict(score: Score) -> dict[str, Any]:
    return {"k": score.k, "queries": score.queries, "recall": score.recall, "mrr": score.mrr}
