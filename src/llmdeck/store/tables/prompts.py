"""The prompt registry: prompts, their immutable versions, labels and every label move.

A version is identified by (name, version); the primary key is what makes two concurrent pushes
of the same prompt come out as consecutive versions (the loser retries) on either engine.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

prompts = Table(
    "prompts",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("latest_version", Integer, nullable=False, default=0),
    time_column("created_at", nullable=False),
    time_column("updated_at", nullable=False),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    json_column("messages"),
    text_column("model"),
    json_column("params"),
    json_column("variables"),
    text_column("commit_message"),
    text_column("author"),
    Column("content_hash", String(64), nullable=False),
    time_column("created_at", nullable=False),
)

prompt_labels = Table(
    "prompt_labels",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("label", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    json_column("targets"),
    json_column("canary"),
    Column("revision", Integer, nullable=False, default=0),
    time_column("updated_at", nullable=False),
    text_column("updated_by"),
)

prompt_label_events = Table(
    "prompt_label_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("label", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    json_column("from_targets"),
    json_column("to_targets"),
    text_column("actor"),
    text_column("reason"),
    time_column("at", nullable=False),
    Index("ix_prompt_label_events_name_label", "name", "label", "id"),
)
