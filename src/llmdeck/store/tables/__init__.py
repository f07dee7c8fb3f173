"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables import observe
from llmdeck.store.tables.base import metadata

spans = observe.spans
traces = observe.traces
scores = observe.scores
events = observe.events
span_rollups = observe.span_rollups

__all__ = ["MetaData", "events", "metadata", "scores", "span_rollups", "spans", "traces"]
