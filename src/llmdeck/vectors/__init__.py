"""Vector collections over two backends with one behaviour: an embedded engine (SQLite + FAISS
under LLMDECK_HOME) and PostgreSQL with pgvector; index tuning, embedding migrations and
retrieval-quality monitoring.

Other capabilities use only what is exported here. Embedding is injected (`Embed`), so this
layer never imports the gateway.
"""

from llmdeck.vectors.collection import Collection, Written
from llmdeck.vectors.filters import Filter, parse_filter
from llmdeck.vectors.manager import Vectors
from llmdeck.vectors.migrate import Migrations, Plan
from llmdeck.vectors.quality import Golden, Quality, Score, parse_golden
from llmdeck.vectors.service import VectorService, age
from llmdeck.vectors.tune import Trial, Tuning, tune
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
    "Golden",
    "Hit",
    "Item",
    "Migrations",
    "Plan",
    "Quality",
    "Record",
    "Score",
    "Spec",
    "Trial",
    "Tuning",
    "VectorError",
    "VectorService",
    "Vectors",
    "Written",
    "age",
    "parse_filter",
    "parse_golden",
    "tune",
]
