"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables.base import metadata
from llmdeck.store.tables.batch import batch_lines, batches, files
from llmdeck.store.tables.cache import cache_entries
from llmdeck.store.tables.evals import (
    eval_dataset_versions,
    eval_datasets,
    eval_items,
    eval_online,
    eval_results,
    eval_runs,
)
from llmdeck.store.tables.keys import (
    api_keys,
    api_keys_revision,
    audit_log,
    spend_daily,
)
from llmdeck.store.tables.observe import events, scores, span_rollups, spans, traces
from llmdeck.store.tables.prompts import (
    prompt_label_events,
    prompt_labels,
    prompt_versions,
    prompts,
)
from llmdeck.store.tables.rag import rag_documents, rag_embeddings, rag_ingests
from llmdeck.store.tables.vectors import (
    vector_aliases,
    vector_collections,
    vector_drift,
    vector_events,
    vector_golden,
    vector_migrations,
    vector_quality,
)

__all__ = [
    "MetaData",
    "api_keys",
    "api_keys_revision",
    "audit_log",
    "batch_lines",
    "batches",
    "cache_entries",
    "eval_dataset_versions",
    "eval_datasets",
    "eval_items",
    "eval_online",
    "eval_results",
    "eval_runs",
    "events",
    "files",
    "metadata",
    "prompt_label_events",
    "prompt_labels",
    "prompt_versions",
    "prompts",
    "rag_documents",
    "rag_embeddings",
    "rag_ingests",
    "scores",
    "span_rollups",
    "spans",
    "spend_daily",
    "traces",
    "vector_aliases",
    "vector_collections",
    "vector_drift",
    "vector_events",
    "vector_golden",
    "vector_migrations",
    "vector_quality",
]
