"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables import batch, cache, observe
from llmdeck.store.tables.base import metadata

spans = observe.spans
traces = observe.traces
cache_entries = cache.cache_entries
files = batch.files
batches = batch.batches
batch_lines = batch.batch_lines

__all__ = [
    "MetaData",
    "batch_lines",
    "batches",
    "cache_entries",
    "files",
    "metadata",
    "spans",
    "traces",
]
