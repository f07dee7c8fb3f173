"""Index backends: the embedded engine (SQLite + FAISS under LLMDECK_HOME) and pgvector."""

from llmdeck.vectors.backends.base import Index, Scored

__all__ = ["Index", "Scored"]
