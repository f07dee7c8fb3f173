"""RAG ingestion state: each ingested document (its content hash and the chunk ids it wrote,
so re-ingesting skips, replaces or deletes it), the embedding cache by content hash, and the
ingestion runs with their progress.

A document's row is written `indexing` before its chunks go to the collection and `indexed`
after; an interrupted run leaves `indexing` rows, which the next run redoes."""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

rag_documents = Table(
    "rag_documents",
    metadata,
    Column("collection", String(100), primary_key=True),
    Column("document_id", String(500), primary_key=True),
    text_column("source"),
    text_column("title"),
    time_column("mtime"),
    Column("content_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # indexing | indexed
    Column("chunks", Integer, nullable=False),
    json_column("chunk_ids"),
    time_column("updated_at", nullable=False),
)

rag_embeddings = Table(
    "rag_embeddings",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    time_column("created_at", nullable=False),
)

rag_ingests = Table(
    "rag_ingests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("collection", String(100), nullable=False, index=True),
    text_column("source"),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("documents", Integer, nullable=False),  # found so far
    Column("done", Integer, nullable=False),  # processed (written, skipped or failed)
    Column("written", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("embedded", Integer, nullable=False),  # chunks embedded (cache misses)
    json_column("problems"),
    text_column("error"),
    time_column("created_at", nullable=False, index=True),
    time_column("started_at"),
    time_column("finished_at"),
)

TABLES = (rag_documents, rag_embeddings, rag_ingests)
