"""Vector collections over two backends with one behaviour: an embedded engine (SQLite + FAISS
under LLMDECK_HOME) and PostgreSQL with pgvector; index tuning, embedding migrations and
retrieval-quality monitoring.

Other capabilities use only what is exported here. Embedding is injected (`Embed`), so this
layer never imports the gateway.
"""

from llmdeck.vectors.collection import Collection, Written
from llmdeck.vectors.filters import Filter, parse_filter
from llmdeck.vectors.manager import Vectors
from llmdeck.vectors.types import (
    CollectionBusy,
    CollectionNotFound,
    Embed,
    Embeddings,
    Hit,
    Item,
    Record,
    Spec,
    VectorError,
)

__all__ = [
    "Collection",
    "CollectionBusy",
    "CollectionNotFound",
    "Embed",
    "Embeddings",
    "Filter",
    "Hit",
    "Item",
    "Record",
    "Spec",
    "VectorError",
    "Vectors",
    "Written",
    "parse_filter",
]
