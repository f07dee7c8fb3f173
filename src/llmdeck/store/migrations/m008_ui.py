"""What the web UI shows and who may sign in to it: the roll-ups' cache savings (a time series
of what cache hits saved) and the keys' `ui` flag."""

from sqlalchemy import Connection

from llmdeck.store.migrations import add_columns
from llmdeck.store.tables import api_keys, span_rollups


def up(conn: Connection) -> None:
    """Add `span_rollups.cache_saved` and `api_keys.ui`."""
    add_columns(conn, span_rollups, "cache_saved")
    add_columns(conn, api_keys, "ui")
