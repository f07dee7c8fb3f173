"""Storage: one Store over SQLite (default) or PostgreSQL, with tables and migrations."""

from llmdeck.store import tables
from llmdeck.store.engine import Store, normalise_url, open_store

__all__ = ["Store", "normalise_url", "open_store", "tables"]
