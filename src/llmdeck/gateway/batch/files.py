"""Files (OpenAI's Files API, for batches): uploaded input, and the output and error files a
batch writes. Content lives in the database, so every worker and replica can read it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_

from llmdeck.errors import NotFound
from llmdeck.store import Store, tables

_F = tables.files
_LISTED = (_F.c.id, _F.c.owner, _F.c.purpose, _F.c.filename, _F.c.bytes, _F.c.created_at)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A stored file, without its content."""

    id: str
    owner: str
    purpose: str
    filename: str
    bytes: int
    created_at: float

    def openai(self) -> dict[str, Any]:
        """The OpenAI file object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": int(self.created_at),
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


def new_file_id() -> str:
    """A new file id, `file-` and 24 hex digits."""
    return f"file-{os.urandom(12).hex()}"


def file_row(owner: str, purpose: str, filename: str, content: bytes) -> dict[str, Any]:
    """The row of a new file."""
    return {
        "id": new_file_id(),
        "owner": owner,
        "purpose": purpose,
        "filename": filename,
        "bytes": len(content),
        "created_at": time.time(),
        "content": content,
    }


class Files:
    """The `files` table, each file visible to its owner (and the admin)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, owner: str, purpose: str, filename: str, content: bytes) -> FileInfo:
        """Store a new file."""
        row = file_row(owner, purpose, filename, content)
        await self.store.awrite(lambda conn: conn.execute(_F.insert().values(**row)))
        return _info(row)

    async def get(self, file_id: str, owner: str | None) -> FileInfo:
        """The file `file_id` (NotFound unless `owner` owns it; None: anyone's)."""
        rows = await self.store.aread(lambda conn: _select(conn, file_id, owner, _LISTED))
        if not rows:
            raise NotFound(f"no file {file_id!r}", param="file_id", code="file_not_found")
        return _info(rows[0]._mapping)

    async def content(self, file_id: str, owner: str | None) -> tuple[FileInfo, bytes]:
        """The file and its bytes."""
        rows = await self.store.aread(lambda conn: _select(conn, file_id, owner, (_F,)))
        if not rows:
            raise NotFound(f"no file {file_id!r}", param="file_id", code="file_not_found")
        row = rows[0]._mapping
        return _info(row), bytes(row["content"])

    async def list(
        self, owner: str | None, purpose: str | None, limit: int, after: str | None, order: str
    ) -> tuple[list[FileInfo], bool]:
        """A page of files, newest first unless `order` is `asc`; and whether more follow."""
        query = select(*_LISTED)
        if owner is not None:
            query = query.where(_F.c.owner == owner)
        if purpose is not None:
            query = query.where(_F.c.purpose == purpose)
        ascending = order == "asc"
        keys = (_F.c.created_at, _F.c.id)
        if after is not None:
            anchor = await self.get(after, owner)
            position = (anchor.created_at, anchor.id)
            compare = tuple_(*keys) > position if ascending else tuple_(*keys) < position
            query = query.where(compare)
        ordering = [k.asc() if ascending else k.desc() for k in keys]
        query = query.order_by(*ordering).limit(limit + 1)
        rows = await self.store.aread(lambda conn: list(conn.execute(query)))
        return [_info(r._mapping) for r in rows[:limit]], len(rows) > limit

    async def delete(self, file_id: str, owner: str | None) -> None:
        """Delete a file (NotFound if unknown)."""
        await self.get(file_id, owner)
        await self.store.awrite(lambda conn: conn.execute(delete(_F).where(_F.c.id == file_id)))


def _select(conn: Connection, file_id: str, owner: str | None, columns: Any) -> list[Any]:
    query = select(*columns).where(_F.c.id == file_id)
    if owner is not None:
        query = query.where(_F.c.owner == owner)
    return list(conn.execute(query))


def _info(row: Any) -> FileInfo:
    return FileInfo(
        id=row["id"],
        owner=row["owner"],
        purpose=row["purpose"],
        filename=row["filename"] or "",
        bytes=row["bytes"],
        created_at=row["created_at"],
    )
