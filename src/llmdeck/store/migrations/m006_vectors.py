"""Vector collections: versions, aliases, golden queries, quality and drift series, migrations,
quality events."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables.vectors import TABLES


def up(conn: Connection) -> None:
    """Create the vector collection tables."""
    create_tables(conn, *TABLES)
