"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables import observe
from llmdeck.store.tables.base import metadata

spans = observe.spans
traces = observe.traces

__all__ = ["MetaData", "metadata", "spans", "traces"]
