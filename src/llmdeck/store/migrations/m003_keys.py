"""Virtual keys, their revision counter, the audit log, and daily spend (limit events go to
the observability `events` table)."""

from sqlalchemy import Connection, select

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables import api_keys, api_keys_revision, audit_log, spend_daily


def up(conn: Connection) -> None:
    """Create the tables and the revision counter's one row."""
    create_tables(conn, api_keys, api_keys_revision, audit_log, spend_daily)
    if conn.execute(select(api_keys_revision.c.id)).first() is None:
        conn.execute(api_keys_revision.insert().values(id=1, value=0))
