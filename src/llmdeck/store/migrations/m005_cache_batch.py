"""The in-process cache's entries; files, batches and their lines."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables import batch_lines, batches, cache_entries, files


def up(conn: Connection) -> None:
    """Create the cache and batch tables with their indexes."""
    create_tables(conn, cache_entries, files, batches, batch_lines)
