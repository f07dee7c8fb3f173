"""Evaluation: datasets, versions, items, runs, per-item results and the online cursor."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables.evals import TABLES


def up(conn: Connection) -> None:
    """Create the evaluation tables."""
    create_tables(conn, *TABLES)
