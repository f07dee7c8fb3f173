"""The audit log: who did what to which object, when, with the details. Written in the same
transaction as the change it describes, so neither exists without the other."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from llmdeck.store import tables


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action."""

    id: str
    time: float
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]

    def public(self) -> dict[str, Any]:
        """The entry as the API and CLI show it."""
        return {
            "id": self.id,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
        }


def write_audit(
    conn: Connection, actor: str, action: str, target: str | None, details: dict[str, Any]
) -> None:
    """Record an admin action (inside the caller's transaction)."""
    conn.execute(
        tables.audit_log.insert().values(
            id=os.urandom(8).hex(),
            time=time.time(),
            actor=actor,
            action=action,
            target=target,
            details=details,
        )
    )


def read_audit(
    conn: Connection, *, target: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The latest entries first, optionally for one target or action."""
    table = tables.audit_log
    query = select(table).order_by(table.c.time.desc()).limit(limit)
    if target is not None:
        query = query.where(table.c.target == target)
    if action is not None:
        query = query.where(table.c.action == action)
    return [
        AuditEntry(
            id=row.id,
            time=row.time,
            actor=row.actor,
            action=row.action,
            target=row.target,
            details=row.details or {},
        )
        for row in conn.execute(query)
    ]
