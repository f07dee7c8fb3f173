"""RAG: load documents (text, Markdown, HTML, PDF, DOCX, JSONL), chunk them by structure,
embed them through the gateway into a vector collection incrementally, retrieve (hybrid,
filtered, deduplicated, reranked) and answer with citations and a groundedness score.

Other capabilities use only what is exported here: the server builds a `RagService`, mounts
`routes` and `admin_routes`, and registers its ingestion job; the CLI ingests and queries.
"""

from llmdeck.rag.chunking import Chunker, FixedChunker, StructureChunker, count_tokens, make_chunker
from llmdeck.rag.ingest import Ingestor, IngestReport
from llmdeck.rag.loaders import Loader, LoadProblem, discover, load, register_loader
from llmdeck.rag.routes import admin_routes, routes
from llmdeck.rag.service import INGEST_JOB, RagService
from llmdeck.rag.types import (
    Answered,
    Chunk,
    Citation,
    Document,
    RagError,
    Retrieval,
    Retrieved,
    StageTimeout,
    StoreUnavailable,
)

__all__ = [
    "INGEST_JOB",
    "Answered",
    "Chunk",
    "Chunker",
    "Citation",
    "Document",
    "FixedChunker",
    "IngestReport",
    "Ingestor",
    "LoadProblem",
    "Loader",
    "RagError",
    "RagService",
    "Retrieval",
    "Retrieved",
    "StageTimeout",
    "StoreUnavailable",
    "StructureChunker",
    "admin_routes",
    "count_tokens",
    "discover",
    "load",
    "make_chunker",
    "register_loader",
    "routes",
]
