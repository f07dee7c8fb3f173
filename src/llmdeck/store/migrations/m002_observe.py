"""Observability: scores, events and roll-ups; trace totals and status; span parameters."""

from sqlalchemy import Connection

from llmdeck.store.migrations import add_columns, create_tables
from llmdeck.store.tables import events, scores, span_rollups, spans, traces


def up(conn: Connection) -> None:
    """Create the new tables and add the new columns to traces and spans."""
    add_columns(
        conn,
        traces,
        "root_span_id",
        "status",
        "span_count",
        "input_tokens",
        "output_tokens",
        "cost",
    )
    add_columns(conn, spans, "parameters")
    create_tables(conn, scores, events, span_rollups)
