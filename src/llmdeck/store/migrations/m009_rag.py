"""RAG ingestion: per-document state, the embedding cache, ingestion runs."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables.rag import TABLES


def up(conn: Connection) -> None:
    """Create the RAG tables."""
    create_tables(conn, *TABLES)
