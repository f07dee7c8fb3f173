"""Vector collections: their versions (model, dimension, metric, index settings, tuning), the
alias each collection name points at, golden queries, the retrieval-quality and drift time
series, embedding migrations, and quality events.

A collection name is an alias for one version; an embedding migration builds the next version
beside it and moves the alias, keeping the previous version for rollback."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

vector_collections = Table(
    "vector_collections",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("location", String(500), nullable=False),  # directory or table name
    Column("model", String(200), nullable=False),
    Column("dim", Integer, nullable=False),
    Column("metric", String(8), nullable=False),
    Column("normalize", Boolean, nullable=False),
    json_column("index_settings"),
    Column("state", String(16), nullable=False),  # active | shadow | retired
    time_column("created_at", nullable=False),
    time_column("tuned_at"),
    json_column("tuning"),
    json_column("drift_baseline"),
)

vector_aliases = Table(
    "vector_aliases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("previous_version", Integer, nullable=True),
    time_column("updated_at", nullable=False),
)

vector_golden = Table(
    "vector_golden",
    metadata,
    Column("collection", String(100), primary_key=True),
    Column("id", String(200), primary_key=True),
    Column("query", String, nullable=False),
    json_column("relevant_ids"),
    time_column("created_at", nullable=False),
)

vector_quality = Table(
    "vector_quality",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    time_column("at", nullable=False),
    Column("trigger", String(16), nullable=False),  # schedule | ingest | migration | manual
    Column("k", Integer, nullable=False),
    Column("queries", Integer, nullable=False),
    Column("recall", Float, nullable=False),
    Column("mrr", Float, nullable=False),
    Index("ix_vector_quality_collection_at", "collection", "at"),
)

vector_drift = Table(
    "vector_drift",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    time_column("at", nullable=False),
    Column("sample", Integer, nullable=False),
    Column("centroid_shift", Float, nullable=False),
    Column("nn_distance", Float, nullable=False),
    Column("baseline_nn_distance", Float, nullable=False),
    Index("ix_vector_drift_collection_at", "collection", "at"),
)

vector_migrations = Table(
    "vector_migrations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("collection", String(100), nullable=False, index=True),
    Column("source_version", Integer, nullable=False),
    Column("target_version", Integer, nullable=False),
    Column("model", String(200), nullable=False),
    Column("state", String(16), nullable=False),  # running | interrupted | held | switched | failed
    Column("cursor", String(200), nullable=False),  # last item id copied (ids in order)
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("cost", Float, nullable=False),
    json_column("comparison"),
    text_column("error"),
    time_column("started_at", nullable=False),
    time_column("updated_at", nullable=False),
    time_column("finished_at"),
)

vector_events = Table(
    "vector_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(100), nullable=False),
    time_column("at", nullable=False),
    Column("kind", String(32), nullable=False),  # quality_drop | drift | migration
    text_column("message"),
    json_column("data"),
    Index("ix_vector_events_collection_at", "collection", "at"),
)

TABLES = (
    vector_collections,
    vector_aliases,
    vector_golden,
    vector_quality,
    vector_drift,
    vector_migrations,
    vector_events,
)
