"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables import observe, vectors
from llmdeck.store.tables import prompts as _prompts
from llmdeck.store.tables.base import metadata

spans = observe.spans
traces = observe.traces
scores = observe.scores
events = observe.events
span_rollups = observe.span_rollups
prompts = _prompts.prompts
prompt_versions = _prompts.prompt_versions
prompt_labels = _prompts.prompt_labels
prompt_label_events = _prompts.prompt_label_events
vector_aliases = vectors.vector_aliases
vector_collections = vectors.vector_collections
vector_drift = vectors.vector_drift
vector_events = vectors.vector_events
vector_golden = vectors.vector_golden
vector_migrations = vectors.vector_migrations
vector_quality = vectors.vector_quality

__all__ = [
    "MetaData",
    "events",
    "metadata",
    "prompt_label_events",
    "prompt_labels",
    "prompt_versions",
    "prompts",
    "scores",
    "span_rollups",
    "spans",
    "traces",
    "vector_aliases",
    "vector_collections",
    "vector_drift",
    "vector_events",
    "vector_golden",
    "vector_migrations",
    "vector_quality",
]
