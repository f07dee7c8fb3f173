"""Files and batches (the OpenAI Batch API), with one row per input line so that a batch
survives restarts and its lines can be claimed by any worker."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(200), nullable=False, index=True),
    Column("purpose", String(40), nullable=False),
    text_column("filename"),
    Column("bytes", Integer, nullable=False),
    time_column("created_at", nullable=False),
    Column("content", LargeBinary, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(200), nullable=False, index=True),
    json_column("principal"),
    Column("endpoint", String(80), nullable=False),
    Column("input_file_id", String(40), nullable=False),
    Column("completion_window", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("output_file_id", String(40), nullable=True),
    Column("error_file_id", String(40), nullable=True),
    json_column("errors"),
    json_column("metadata"),
    time_column("created_at", nullable=False),
    time_column("in_progress_at"),
    time_column("expires_at"),
    time_column("finalizing_at"),
    time_column("completed_at"),
    time_column("failed_at"),
    time_column("expired_at"),
    time_column("cancelling_at"),
    time_column("cancelled_at"),
)

batch_lines = Table(
    "batch_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(40), nullable=False),
    Column("line", Integer, nullable=False),
    text_column("custom_id"),
    Column("status", String(12), nullable=False),
    json_column("body"),
    json_column("response"),
    json_column("error"),
    Column("worker", String(40), nullable=True),
    Column("claim", String(48), nullable=True),
    time_column("lease_until"),
    time_column("not_before"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("cost", Float, nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    time_column("finished_at"),
    UniqueConstraint("batch_id", "line", name="uq_batch_lines_line"),
    Index("ix_batch_lines_open", "batch_id", "status", "line"),
    Index("ix_batch_lines_claim", "claim"),
)
