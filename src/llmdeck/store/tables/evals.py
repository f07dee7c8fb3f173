"""Evaluation: datasets and their versions and items, experiment runs and per-item results, and
the online evaluator's cursor.

A dataset version is immutable once a run used it (`locked`): adding items then makes a new
version. A run's results are written as each item completes, so an interrupted run resumes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table

from llmdeck.store.tables.base import json_column, metadata, text_column, time_column

eval_datasets = Table(
    "eval_datasets",
    metadata,
    Column("name", String(128), primary_key=True),
    text_column("description"),
    Column("latest_version", Integer, nullable=False, default=1),
    Column("draft", Boolean, nullable=False, default=False),
    time_column("created_at", nullable=False),
    time_column("updated_at", nullable=False),
)

eval_dataset_versions = Table(
    "eval_dataset_versions",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("item_count", Integer, nullable=False, default=0),
    Column("locked", Boolean, nullable=False, default=False),
    text_column("source"),
    time_column("created_at", nullable=False),
)

eval_items = Table(
    "eval_items",
    metadata,
    Column("dataset", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("item_id", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    json_column("input"),
    json_column("variables"),
    json_column("expected"),
    json_column("context"),
    json_column("relevant_ids"),
    json_column("metadata"),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    text_column("name"),
    text_column("dataset"),
    Column("dataset_version", Integer, nullable=True),
    json_column("spec"),
    Column("status", String(16), nullable=False),
    Column("item_count", Integer, nullable=False, default=0),
    Column("done_count", Integer, nullable=False, default=0),
    json_column("scores"),
    Column("cost", Float, nullable=False, default=0.0),
    text_column("error"),
    time_column("created_at", nullable=False, index=True),
    time_column("finished_at"),
)

eval_results = Table(
    "eval_results",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    json_column("input"),
    json_column("expected"),
    json_column("output"),
    json_column("scores"),
    Column("latency_ms", Float, nullable=True),
    Column("cost", Float, nullable=True),
    Column("trace_id", String(32), nullable=True),
    text_column("error"),
    time_column("created_at", nullable=False),
    Index("ix_eval_results_run_position", "run_id", "position"),
)

eval_online = Table(
    "eval_online",
    metadata,
    Column("name", String(64), primary_key=True),
    time_column("cursor", nullable=False),
    Column("scored", Integer, nullable=False, default=0),
)

TABLES = (eval_datasets, eval_dataset_versions, eval_items, eval_runs, eval_results, eval_online)
