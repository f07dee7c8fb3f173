"""Traces and spans: every gateway call is recorded here."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables import spans, traces


def up(conn: Connection) -> None:
    """Create the traces and spans tables with their indexes."""
    create_tables(conn, traces, spans)
