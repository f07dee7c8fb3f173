"""The `rag` section: named pipelines, each from a source through loading, chunking and
embedding into a collection, and from a question through retrieval to an answer.

```yaml
rag:
  pipelines:
    docs:
      source: docs/                 # a file, a folder or a glob; what `ingest` reads by default
      collection: docs              # default: the pipeline's name
      loader: {extensions: [.md, .txt, .html, .pdf, .docx, .jsonl], max_bytes: 20000000}
      chunking: {strategy: structure, max_tokens: 200, overlap: 30}
      embedding: embed              # the model alias that embeds chunks and questions
      retrieval:
        k: 5
        mode: hybrid                # hybrid | vector | keyword
        fusion: weighted            # weighted | rrf
        alpha: 0.5                  # weighted: the vector share
        filter: {lang: en}          # metadata filter applied to every query
        rerank: none                # none | mmr | embedding | llm
        rerank_model: chat          # llm reranking: the judging model alias
        dedup: 0.95                 # drop chunks this similar to a better one (0 turns it off)
      prompt: {name: rag-answer, label: production}   # default: the built-in template
      answer: chat                  # the model alias that answers
      ingest_on_start: false        # servers ingest `source` in a background job at start
      timeouts: {retrieve: 10, rerank: 20, answer: 60, grounded: 10}
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LoaderSettings(_Section):
    """Which files a folder or glob yields, and how large one may be."""

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    max_bytes: int = Field(default=20_000_000, gt=0)
    text_field: str = "text"  # JSONL: the field holding a record's text
    title_field: str = "title"  # JSONL: the field holding a record's title


class ChunkingSettings(_Section):
    """How documents are cut: structure-aware pieces of at most `max_tokens`, overlapping."""

    strategy: Literal["structure", "fixed"] = "structure"
    max_tokens: int = Field(default=200, ge=16, le=8192)
    overlap: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _overlap_fits(self) -> ChunkingSettings:
        if self.overlap >= self.max_tokens // 2:
            raise ValueError("overlap must be under half of max_tokens")
        return self


class RetrievalSettings(_Section):
    """How a question finds chunks."""

    k: int = Field(default=5, ge=1, le=100)
    mode: Literal["hybrid", "vector", "keyword"] = "hybrid"
    # chosen by bench/rag.py on the SciFact train claims (nDCG@10 0.733 vs RRF's 0.714)
    fusion: Literal["rrf", "weighted"] = "weighted"
    alpha: float = Field(default=0.5, ge=0, le=1)
    filter: dict[str, Any] | None = None
    rerank: Literal["none", "mmr", "embedding", "llm"] = "none"
    rerank_model: str = "chat"
    candidates: int = Field(default=20, ge=1, le=1000)  # fetched before reranking and dedup
    mmr_lambda: float = Field(default=0.7, ge=0, le=1)
    dedup: float = Field(default=0.95, ge=0, le=1)


class PromptChoice(_Section):
    """A registered prompt (variables `question` and `context`) that answers."""

    name: str
    label: str | None = None
    version: int | None = None


class StageTimeouts(_Section):
    """Seconds each query stage may take before it fails (or degrades)."""

    retrieve: float = Field(default=10.0, gt=0)
    rerank: float = Field(default=20.0, gt=0)
    answer: float = Field(default=60.0, gt=0)
    grounded: float = Field(default=10.0, gt=0)


class PipelineSettings(_Section):
    """One RAG pipeline."""

    source: str | None = None
    collection: str | None = None
    loader: LoaderSettings = Field(default_factory=LoaderSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    embedding: str = "embed"
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    prompt: PromptChoice | None = None
    answer: str = "chat"
    ingest_on_start: bool = False
    timeouts: StageTimeouts = Field(default_factory=StageTimeouts)

    def aliases(self) -> dict[str, str]:
        """The model aliases this pipeline calls, by the field naming them."""
        out = {"embedding": self.embedding, "answer": self.answer}
        if self.retrieval.rerank == "llm":
            out["retrieval.rerank_model"] = self.retrieval.rerank_model
        return out


class RagSettings(_Section):
    """Named pipelines; a collection without one gets the defaults."""

    pipelines: dict[str, PipelineSettings] = Field(default_factory=dict)
    default: PipelineSettings = Field(default_factory=PipelineSettings)
    embed_batch: int = Field(default=64, ge=1, le=2048)  # chunks per embeddings request

    def pipeline(self, collection: str) -> tuple[str, PipelineSettings]:
        """(name, settings) of the pipeline for `collection`: one named so or writing to it,
        else the defaults writing to `collection`."""
        for name, found in self.pipelines.items():
            if (found.collection or name) == collection:
                return name, found
        return collection, self.default.model_copy(update={"collection": collection})
