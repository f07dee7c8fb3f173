"""The in-process cache's entries, kept across restarts (Redis keeps its own)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("alias", String(200), nullable=False, index=True),
    Column("namespace", String(32), nullable=True),
    text_column("question"),
    Column("vector", LargeBinary, nullable=True),
    json_column("response"),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost", Float, nullable=False, default=0.0),
    time_column("created_at", nullable=False),
    time_column("expires_at", nullable=False, index=True),
    Column("hits", Integer, nullable=False, default=0),
    time_column("last_used", nullable=False),
)
