"""Named, versioned datasets in the store.

Adding items to a version that no run has used changes it in place; once a run used a version
(`lock`), it is immutable and adding items starts the next version from a copy.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from llmdeck.errors import BadRequest, NotFound
from llmdeck.evals.items import Item
from llmdeck.store import Store
from llmdeck.store.tables import eval_dataset_versions as versions
from llmdeck.store.tables import eval_datasets as datasets
from llmdeck.store.tables import eval_items as items_table

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, newest version and size."""

    name: str
    description: str | None
    latest_version: int
    item_count: int
    locked: bool
    draft: bool
    created_at: float
    updated_at: float


def check_name(name: str) -> str:
    """A dataset name: letters, digits, `_ . -`."""
    if not _NAME.match(name):
        raise BadRequest(
            f"dataset name {name!r} must be letters, digits, '_', '.' or '-'", param="name"
        )
    return name


class Datasets:
    """Create, grow, read and lock datasets."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(
        self,
        name: str,
        items: Sequence[Item],
        *,
        description: str | None = None,
        source: str | None = None,
        draft: bool = False,
    ) -> DatasetInfo:
        """Add (or replace by id) items; creates the dataset if needed. Returns its state."""
        check_name(name)
        return await self.store.awrite(
            lambda conn: self._add(conn, name, list(items), description, source, draft)
        )

    def _add(
        self,
        conn: Connection,
        name: str,
        new: list[Item],
        description: str | None,
        source: str | None,
        draft: bool,
    ) -> DatasetInfo:
        now = time.time()
        row = conn.execute(select(datasets).where(datasets.c.name == name)).first()
        if row is None:
            conn.execute(
                datasets.insert().values(
                    name=name, description=description, latest_version=1, draft=draft,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
            conn.execute(
                versions.insert().values(
                    name=name, version=1, item_count=0, locked=False, source=source,
                    created_at=now,
                )
            )  # fmt: skip
            version = 1
        else:
            version = row.latest_version
            if _locked(conn, name, version):
                version = self._next_version(conn, name, version, source, now)
            values: dict[str, Any] = {"updated_at": now}
            if description is not None:
                values["description"] = description
            conn.execute(update(datasets).where(datasets.c.name == name).values(**values))
        self._put_items(conn, name, version, new)
        return _info(conn, name)

    def _next_version(
        self, conn: Connection, name: str, version: int, source: str | None, now: float
    ) -> int:
        following = version + 1
        conn.execute(
            versions.insert().values(
                name=name, version=following, item_count=0, locked=False, source=source,
                created_at=now,
            )
        )  # fmt: skip
        rows = conn.execute(
            select(items_table).where(
                items_table.c.dataset == name, items_table.c.version == version
            )
        ).mappings()
        copies = [{**dict(r), "version": following} for r in rows]
        if copies:
            conn.execute(items_table.insert(), copies)
        conn.execute(
            update(datasets).where(datasets.c.name == name).values(latest_version=following)
        )
        return following

    def _put_items(self, conn: Connection, name: str, version: int, new: list[Item]) -> None:
        where = (items_table.c.dataset == name) & (items_table.c.version == version)
        ids = [item.id for item in new]
        for start in range(0, len(ids), 500):
            conn.execute(
                items_table.delete().where(
                    where & items_table.c.item_id.in_(ids[start : start + 500])
                )
            )
        position = conn.execute(select(func.max(items_table.c.position)).where(where)).scalar()
        base = (position or 0) + 1
        rows = [
            {
                "dataset": name, "version": version, "item_id": item.id, "position": base + i,
                "input": item.input, "variables": item.variables or None,
                "expected": item.expected, "context": item.context or None,
                "relevant_ids": item.relevant_ids or None, "metadata": item.metadata or None,
            }
            for i, item in enumerate(new)
        ]  # fmt: skip
        if rows:
            conn.execute(items_table.insert(), rows)
        count = conn.execute(select(func.count()).select_from(items_table).where(where)).scalar()
        conn.execute(
            update(versions)
            .where(versions.c.name == name, versions.c.version == version)
            .values(item_count=count or 0)
        )

    async def list_datasets(self) -> list[DatasetInfo]:
        """Every dataset, by name."""

        def read(conn: Connection) -> list[DatasetInfo]:
            names = conn.execute(select(datasets.c.name).order_by(datasets.c.name)).scalars()
            return [_info(conn, n) for n in list(names)]

        return await self.store.aread(read)

    async def info(self, name: str) -> DatasetInfo:
        """One dataset's state (NotFound names it)."""
        return await self.store.aread(lambda conn: _info(conn, name))

    async def items(
        self, name: str, version: int | None = None, *, offset: int = 0, limit: int | None = None
    ) -> tuple[int, list[Item]]:
        """(version, items) of a version (default the newest), in order."""

        def read(conn: Connection) -> tuple[int, list[Item]]:
            chosen = version or _info(conn, name).latest_version
            exists = conn.execute(
                select(versions.c.version).where(
                    versions.c.name == name, versions.c.version == chosen
                )
            ).first()
            if exists is None:
                raise NotFound(f"dataset {name!r} has no version {chosen}", code="not_found")
            query = (
                select(items_table)
                .where(items_table.c.dataset == name, items_table.c.version == chosen)
                .order_by(items_table.c.position)
                .offset(offset)
            )
            if limit is not None:
                query = query.limit(limit)
            return chosen, [_item(r) for r in conn.execute(query).mappings()]

        return await self.store.aread(read)

    async def lock(self, name: str, version: int) -> None:
        """Mark a version used by a run: from now on it never changes."""

        def write(conn: Connection) -> None:
            conn.execute(
                update(versions)
                .where(versions.c.name == name, versions.c.version == version)
                .values(locked=True)
            )

        await self.store.awrite(write)

    async def delete(self, name: str) -> None:
        """Remove a dataset (runs keep their own copy of each item's input and output)."""

        def write(conn: Connection) -> None:
            _info(conn, name)
            conn.execute(items_table.delete().where(items_table.c.dataset == name))
            conn.execute(versions.delete().where(versions.c.name == name))
            conn.execute(datasets.delete().where(datasets.c.name == name))

        await self.store.awrite(write)


def _locked(conn: Connection, name: str, version: int) -> bool:
    found = conn.execute(
        select(versions.c.locked).where(versions.c.name == name, versions.c.version == version)
    ).scalar()
    return bool(found)


def _info(conn: Connection, name: str) -> DatasetInfo:
    row = conn.execute(select(datasets).where(datasets.c.name == name)).first()
    if row is None:
        raise NotFound(f"no dataset named {name!r}", code="dataset_not_found")
    state = conn.execute(
        select(versions).where(versions.c.name == name, versions.c.version == row.latest_version)
    ).first()
    return DatasetInfo(
        name=row.name,
        description=row.description,
        latest_version=row.latest_version,
        item_count=state.item_count if state else 0,
        locked=bool(state.locked) if state else False,
        draft=bool(row.draft),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _item(row: Any) -> Item:
    return Item(
        id=row["item_id"],
        input=row["input"],
        variables=row["variables"] or {},
        expected=row["expected"],
        context=row["context"] or [],
        relevant_ids=row["relevant_ids"] or [],
        metadata=row["metadata"] or {},
    )
