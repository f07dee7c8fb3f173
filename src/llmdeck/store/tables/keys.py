"""Virtual keys, their change counter, the admin audit log, and daily spend.

A key is stored as the SHA-256 of its secret, never the secret. Every change to `api_keys` takes
the next `api_keys_revision` value in its own transaction (the counter row is locked until the
commit), so replicas find changes with `revision > last seen`, in commit order.

`spend_daily` is a roll-up written behind the requests: one row per UTC day and dimension set.
`tag = ''` rows count every call once; a tagged call also adds one row per tag, so sums over
tags are only meaningful per tag (`tag <> ''`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("hint", String(32), nullable=False),
    Column("name", Text, nullable=False),
    text_column("team", index=True),
    text_column("owner"),
    json_column("models"),
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("budget", Float, nullable=True),
    Column("budget_period", String(8), nullable=True),
    time_column("expires_at"),
    json_column("metadata"),
    time_column("created_at", nullable=False),
    text_column("created_by"),
    time_column("updated_at", nullable=False),
    time_column("revoked_at"),
    text_column("revoked_by"),
    Column("revision", BigInteger, nullable=False, index=True),
    # May sign in to the web UI (to look, and to act as itself); the admin key always may.
    Column("ui", Boolean, nullable=False, server_default=false()),
)
# A name belongs to one live key at a time (a partial index on both engines).
Index(
    "ux_api_keys_live_name",
    api_keys.c.name,
    unique=True,
    sqlite_where=api_keys.c.revoked_at.is_(None),
    postgresql_where=api_keys.c.revoked_at.is_(None),
)

api_keys_revision = Table(
    "api_keys_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(32), primary_key=True),
    time_column("time", nullable=False, index=True),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    text_column("target", index=True),
    json_column("details"),
)


def _zero(name: str, *, real: bool = False) -> Column[float]:
    return Column(name, Float if real else Integer, nullable=False, default=0)


spend_daily = Table(
    "spend_daily",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("key_id", Text, primary_key=True),
    Column("team", Text, primary_key=True),
    Column("model_alias", Text, primary_key=True),
    Column("deployment", Text, primary_key=True),
    Column("prompt_name", Text, primary_key=True),
    Column("tag", Text, primary_key=True),
    _zero("requests"),
    _zero("input_tokens"),
    _zero("output_tokens"),
    _zero("cached_tokens"),
    _zero("cost", real=True),
    Index("ix_spend_daily_key_day", "key_id", "day"),
)
