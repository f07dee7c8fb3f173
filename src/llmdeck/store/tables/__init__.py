"""The current schema, one module per capability. Migrations build it; code queries it."""

from sqlalchemy import MetaData

from llmdeck.store.tables import keys, observe
from llmdeck.store.tables.base import metadata

spans = observe.spans
traces = observe.traces
api_keys = keys.api_keys
api_keys_revision = keys.api_keys_revision
audit_log = keys.audit_log
spend_daily = keys.spend_daily
limit_events = keys.limit_events

__all__ = [
    "MetaData",
    "api_keys",
    "api_keys_revision",
    "audit_log",
    "limit_events",
    "metadata",
    "spans",
    "spend_daily",
    "traces",
]
