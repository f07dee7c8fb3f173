"""Keys in the database. Each function runs inside a connection or transaction the caller opens
(`Store.read` / `Store.write`); every change takes the next revision and writes its audit entry
in the same transaction."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select, update

from llmdeck.errors import BadRequest, NotFound
from llmdeck.gateway.keys.audit import write_audit
from llmdeck.gateway.keys.model import KeyRecord, KeySpec
from llmdeck.gateway.keys.secret import hash_secret, hint, new_key_id, new_secret
from llmdeck.store import tables

keys = tables.api_keys
revision = tables.api_keys_revision

BUDGET_FIELDS = ("budget", "budget_period")


def next_revision(conn: Connection) -> int:
    """Take the next revision (the counter row stays locked until the transaction ends)."""
    conn.execute(update(revision).where(revision.c.id == 1).values(value=revision.c.value + 1))
    return int(conn.execute(select(revision.c.value).where(revision.c.id == 1)).scalar_one())


def current_revision(conn: Connection) -> int:
    """The latest committed revision."""
    return int(conn.execute(select(revision.c.value).where(revision.c.id == 1)).scalar() or 0)


def count_keys(conn: Connection) -> int:
    """How many keys were ever created (revoked ones included)."""
    return len(conn.execute(select(keys.c.id).limit(1)).all())


def create_key(conn: Connection, spec: KeySpec, actor: str) -> tuple[KeyRecord, str]:
    """Insert a new key; returns it with its secret (the only time the secret exists)."""
    secret = new_secret()
    now = time.time()
    values = {
        "id": new_key_id(),
        "key_hash": hash_secret(secret),
        "hint": hint(secret),
        "name": spec.name,
        "team": spec.team,
        "owner": spec.owner,
        "models": spec.models,
        "rpm": spec.rpm,
        "tpm": spec.tpm,
        "budget": spec.budget,
        "budget_period": spec.period,
        "expires_at": spec.expires_at,
        "metadata": spec.metadata or {},
        "ui": bool(spec.ui),
        "created_at": now,
        "created_by": actor,
        "updated_at": now,
        "revision": next_revision(conn),
    }
    _check_name(conn, spec.name)
    conn.execute(keys.insert().values(**values))
    record = KeyRecord.from_row(conn.execute(select(keys).where(keys.c.id == values["id"])).one())
    details = {k: v for k, v in record.public().items() if k not in ("id", "status") and v}
    write_audit(conn, actor, "key.created", record.id, details)
    return record, secret


def _check_name(conn: Connection, name: str) -> None:
    """A live key's name is unique (a partial unique index also refuses the racing twin)."""
    other = conn.execute(
        select(keys.c.id).where(keys.c.name == name, keys.c.revoked_at.is_(None))
    ).scalar()
    if other is not None:
        raise name_taken(name, other)


def name_taken(name: str, other: str | None = None) -> BadRequest:
    """The error for a name a live key already has."""
    which = f" ({other})" if other else ""
    return BadRequest(
        f"name: a live key is already called {name!r}{which}; revoke it or pick another name",
        param="name",
        code="key_name_taken",
    )


def find_key(conn: Connection, ref: str) -> KeyRecord:
    """The key with id `ref`, else the live key named `ref` (404 if neither)."""
    row = conn.execute(select(keys).where(keys.c.id == ref)).first()
    if row is None:
        rows = conn.execute(
            select(keys).where(keys.c.name == ref).order_by(keys.c.revoked_at.is_not(None))
        ).all()
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no key with id or name {ref!r}", code="key_not_found")
    return KeyRecord.from_row(row)


def list_keys(
    conn: Connection, *, include_revoked: bool = False, team: str | None = None
) -> list[KeyRecord]:
    """Keys, newest first."""
    query = select(keys).order_by(keys.c.created_at.desc())
    if not include_revoked:
        query = query.where(keys.c.revoked_at.is_(None))
    if team is not None:
        query = query.where(keys.c.team == team)
    return [KeyRecord.from_row(row) for row in conn.execute(query)]


def changed_keys(conn: Connection, after: int, upto: int) -> list[KeyRecord]:
    """Keys changed after revision `after`, up to `upto` (everything when `after` is 0)."""
    query = select(keys).where(keys.c.revision > after, keys.c.revision <= upto)
    return [KeyRecord.from_row(row) for row in conn.execute(query)]


def update_key(conn: Connection, ref: str, changes: dict[str, Any], actor: str) -> KeyRecord:
    """Change a live key's fields; the audit entry names each change (`key.budget_changed`
    when the budget or its period changed, else `key.updated`)."""
    record = find_key(conn, ref)
    if record.revoked_at is not None:
        raise BadRequest(f"key {record.name!r} ({record.id}) is revoked", code="key_revoked")
    before = {name: _value(record, name) for name in changes}
    diff = {k: {"from": before[k], "to": v} for k, v in changes.items() if before[k] != v}
    if not diff:
        return record
    if "budget" in changes and changes["budget"] is None:
        changes["budget_period"] = None
    elif changes.get("budget") is not None and record.budget_period is None:
        changes.setdefault("budget_period", "total")
    if changes.get("budget_period") and changes.get("budget", record.budget) is None:
        raise BadRequest("period: a period needs a budget", param="period")
    if "name" in diff:
        _check_name(conn, changes["name"])
    values = {**changes, "updated_at": time.time(), "revision": next_revision(conn)}
    conn.execute(update(keys).where(keys.c.id == record.id).values(**values))
    action = "key.budget_changed" if set(diff) & set(BUDGET_FIELDS) else "key.updated"
    write_audit(conn, actor, action, record.id, {"name": record.name, "changes": diff})
    return find_key(conn, record.id)


def _value(record: KeyRecord, name: str) -> Any:
    value = getattr(record, name)
    return list(value) if isinstance(value, tuple) else value


def rotate_key(conn: Connection, ref: str, actor: str) -> tuple[KeyRecord, str]:
    """Give a live key a new secret; the old one stops working. Limits, budget and spend stay."""
    record = find_key(conn, ref)
    if record.revoked_at is not None:
        raise BadRequest(f"key {record.name!r} ({record.id}) is revoked", code="key_revoked")
    secret = new_secret()
    conn.execute(
        update(keys)
        .where(keys.c.id == record.id)
        .values(
            key_hash=hash_secret(secret),
            hint=hint(secret),
            updated_at=time.time(),
            revision=next_revision(conn),
        )
    )
    write_audit(conn, actor, "key.rotated", record.id, {"name": record.name, "hint": hint(secret)})
    return find_key(conn, record.id), secret


def revoke_key(conn: Connection, ref: str, actor: str) -> KeyRecord:
    """Revoke a key for good (revoking a revoked key changes nothing)."""
    record = find_key(conn, ref)
    if record.revoked_at is not None:
        return record
    now = time.time()
    conn.execute(
        update(keys)
        .where(keys.c.id == record.id)
        .values(revoked_at=now, revoked_by=actor, updated_at=now, revision=next_revision(conn))
    )
    write_audit(conn, actor, "key.revoked", record.id, {"name": record.name})
    return find_key(conn, record.id)
