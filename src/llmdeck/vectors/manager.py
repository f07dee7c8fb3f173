"""Vectors: the collections of one llmdeck deployment. Names are aliases for versions; each
version's spec (model, dimension, metric, normalisation, index settings) lives in the Store,
its data in a backend (a folder under LLMDECK_HOME, or a pgvector table)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, select

from llmdeck.config import IndexSettings, Metric, VectorsSettings
from llmdeck.errors import ConfigError, Problem
from llmdeck.store import Store
from llmdeck.store.tables import vector_aliases, vector_collections
from llmdeck.vectors.backends.base import Index
from llmdeck.vectors.collection import Collection
from llmdeck.vectors.types import CollectionNotFound, Embed, Spec, VectorError, plain

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Vectors:
    """Create, open, list and drop collections; resolve a name to its current version."""

    def __init__(
        self,
        store: Store,
        settings: VectorsSettings,
        home: Path,
        *,
        embed: Embed | None = None,
        database_url: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.home = home
        self.embed = embed
        self.database_url = database_url
        self._open: dict[tuple[str, int], Collection] = {}
        self._lock = threading.RLock()
        self._pool: Any = None

    # -- specs ---------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        model: str | None = None,
        dim: int | None = None,
        metric: Metric | None = None,
        normalize: bool | None = None,
        index: IndexSettings | None = None,
        backend: str | None = None,
    ) -> Collection:
        """A new, empty collection (version 1). Without `dim`, one probe text is embedded."""
        if not _NAME.match(name):
            raise VectorError(
                "name: lower-case letters, digits, '-' and '_', at most 63, starting with a "
                "letter or digit",
                param="name",
            )
        if self.store.read(lambda conn: _alias_row(conn, name)) is not None:
            raise VectorError(f"collection {name!r} exists", param="name", code="exists")
        spec = self.new_spec(name, 1, model, dim, metric, normalize, index, backend)
        self.store.write(lambda conn: _insert(conn, spec, "active", alias=True))
        return self.open(spec)

    def new_spec(
        self,
        name: str,
        version: int,
        model: str | None,
        dim: int | None,
        metric: Metric | None,
        normalize: bool | None,
        index: IndexSettings | None,
        backend: str | None,
    ) -> Spec:
        """The spec of a version about to be made (probing the model's dimension if needed)."""
        model = model or self.settings.model
        metric = metric or self.settings.metric
        if dim is None:
            if self.embed is None:
                raise VectorError("dim: required when no embedder is wired", param="dim")
            dim = int(self.embed(["dimension probe"], model).vectors.shape[1])
        if not 1 <= dim <= 16000:
            raise VectorError("dim: must be between 1 and 16000", param="dim")
        backend = backend or self.settings.backend
        if backend not in ("embedded", "pgvector"):
            raise VectorError("backend: embedded or pgvector", param="backend")
        if backend == "embedded":
            location = str(self.home / "vectors" / name / f"v{version}")
        else:
            digest = hashlib.sha1(name.encode()).hexdigest()[:8]
            location = f"llmdeck_vec_{re.sub(r'[^a-z0-9]', '_', name)[:30]}_{digest}_v{version}"
        return Spec(
            name=name,
            version=version,
            backend=backend,
            location=location,
            model=model,
            dim=dim,
            metric=metric,
            normalize=True if metric == "cosine" else bool(normalize),
            index=index or self.settings.index,
        )

    def spec(self, name: str, version: int | None = None) -> Spec:
        """A version's spec (the current one by default)."""
        row = self.store.read(lambda conn: _spec_row(conn, name, version))
        if row is None:
            what = f"collection {name!r}" + ("" if version is None else f" version {version}")
            raise CollectionNotFound(f"{what} not found", code="collection_not_found")
        return _spec(row)

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every kept version of a collection, oldest first."""
        query = (
            select(vector_collections)
            .where(vector_collections.c.name == name)
            .order_by(vector_collections.c.version)
        )
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [plain(r) for r in rows]

    def names(self) -> list[str]:
        """Collection names, sorted."""
        query = select(vector_aliases.c.name).order_by(vector_aliases.c.name)
        return list(self.store.read(lambda conn: conn.execute(query).scalars().all()))

    def alias(self, name: str) -> dict[str, Any]:
        """The alias row: current and previous version."""
        row = self.store.read(lambda conn: _alias_row(conn, name))
        if row is None:
            raise CollectionNotFound(f"collection {name!r} not found", code="collection_not_found")
        return plain(row._mapping)

    # -- open collections ----------------------------------------------------------------------

    def get(self, name: str, version: int | None = None) -> Collection:
        """The collection (its current version unless `version` is given), opened once."""
        return self.open(self.spec(name, version))

    def open(self, spec: Spec) -> Collection:
        """The open Collection for `spec`."""
        key = (spec.name, spec.version)
        with self._lock:
            found = self._open.get(key)
            if found is None:
                found = self._open[key] = Collection(spec, self._backend(spec), self.embed)
            return found

    def _backend(self, spec: Spec) -> Index:
        if spec.backend == "embedded":
            from llmdeck.vectors.backends.embedded import EmbeddedIndex

            return EmbeddedIndex(
                Path(spec.location), spec.dim, spec.metric, spec.index, self.settings.exact_below
            )
        from llmdeck.vectors.backends.pgvector import PgvectorIndex, Pool

        if self._pool is None:
            self._pool = Pool(self._pg_url())
        return PgvectorIndex(self._pool, spec.location, spec.dim, spec.metric, spec.index)

    def _pg_url(self) -> str:
        url = self.settings.url or self.database_url
        if not url or not url.startswith(("postgres://", "postgresql")):
            problem = Problem("vectors.url", "the pgvector backend needs a PostgreSQL URL")
            raise ConfigError([problem])
        return url.replace("postgresql+psycopg://", "postgresql://")

    def set_index(self, spec: Spec, settings: IndexSettings, **record: Any) -> Spec:
        """Record new index settings (and tuning fields) for a version and apply them."""
        collection = self.open(spec)
        table = vector_collections
        values = {"index_settings": settings.model_dump(), **record}
        self.store.write(
            lambda conn: conn.execute(
                table.update()
                .where(table.c.name == spec.name, table.c.version == spec.version)
                .values(**values)
            )
        )
        new = dataclasses.replace(spec, index=settings)
        collection.spec = new
        return new

    def record_version(self, spec: Spec, state: str) -> None:
        """Store a new version's row (a shadow for a migration)."""
        self.store.write(lambda conn: _insert(conn, spec, state, alias=False))

    def switch(self, name: str, version: int) -> None:
        """Point the name at `version` atomically, remembering the version it leaves."""
        table, versions = vector_aliases, vector_collections

        def move(conn: Connection) -> None:
            row = _alias_row(conn, name)
            if row is None:
                raise CollectionNotFound(f"collection {name!r} not found")
            conn.execute(
                table.update()
                .where(table.c.name == name)
                .values(version=version, previous_version=row.version, updated_at=time.time())
            )
            for v, state in ((row.version, "retired"), (version, "active")):
                conn.execute(
                    versions.update()
                    .where(versions.c.name == name, versions.c.version == v)
                    .values(state=state)
                )

        self.store.write(move)

    def drop(self, name: str, version: int | None = None) -> list[int]:
        """Delete a non-current version, or (no version) the whole collection."""
        alias = self.alias(name)
        targets = [v["version"] for v in self.versions(name)] if version is None else [version]
        if version is not None and version == alias["version"]:
            raise VectorError(
                f"version {version} is what {name!r} serves; roll back or migrate first",
                param="version",
            )
        for number in targets:
            spec = self.spec(name, number)
            with self._lock:
                opened = self._open.pop((name, number), None)
            (opened.index if opened else self._backend(spec)).drop()
            self.store.write(functools.partial(_delete_version, name=name, version=number))
        if version is None:
            self.store.write(
                lambda conn: conn.execute(
                    vector_aliases.delete().where(vector_aliases.c.name == name)
                )
            )
        return targets

    def close(self) -> None:
        """Close every open collection (the embedded engine saves its index)."""
        with self._lock:
            for collection in self._open.values():
                collection.index.close()
            self._open.clear()
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _alias_row(conn: Connection, name: str) -> Row[Any] | None:
    query = select(vector_aliases).where(vector_aliases.c.name == name)
    return conn.execute(query).first()


def _spec_row(conn: Connection, name: str, version: int | None) -> Row[Any] | None:
    if version is None:
        alias = _alias_row(conn, name)
        if alias is None:
            return None
        version = alias.version
    table = vector_collections
    query = select(table).where(table.c.name == name, table.c.version == version)
    return conn.execute(query).first()


def _spec(row: Row[Any]) -> Spec:
    return Spec(
        name=row.name,
        version=row.version,
        backend=row.backend,
        location=row.location,
        model=row.model,
        dim=row.dim,
        metric=row.metric,
        normalize=row.normalize,
        index=IndexSettings.model_validate(row.index_settings or {}),
    )


def _insert(conn: Connection, spec: Spec, state: str, *, alias: bool) -> None:
    now = time.time()
    conn.execute(
        vector_collections.insert().values(
            name=spec.name,
            version=spec.version,
            backend=spec.backend,
            location=spec.location,
            model=spec.model,
            dim=spec.dim,
            metric=spec.metric,
            normalize=spec.normalize,
            index_settings=spec.index.model_dump(),
            state=state,
            created_at=now,
        )
    )
    if alias:
        conn.execute(
            vector_aliases.insert().values(name=spec.name, version=spec.version, updated_at=now)
        )


def _delete_version(conn: Connection, name: str, version: int) -> None:
    table = vector_collections
    conn.execute(table.delete().where(table.c.name == name, table.c.version == version))
    aliases = vector_aliases
    conn.execute(
        aliases.update()
        .where(aliases.c.name == name, aliases.c.previous_version == version)
        .values(previous_version=None)
    )
