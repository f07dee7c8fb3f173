"""A llmdeck collection as a LangChain `VectorStore` and retriever.

    store = LlmdeckVectorStore("docs", base_url="http://127.0.0.1:4000", api_key=KEY)
    store.add_texts(["..."], metadatas=[{"source": "git"}], ids=["a"])
    store.similarity_search_with_score("rebase", k=3, filter={"source": "git"})
    retriever = store.as_retriever(search_type="hybrid", search_kwargs={"k": 3})

The server embeds texts and queries with the collection's model, through its gateway (so no
embedding model is needed here, and embedding calls are costed and traced there). Given an
`embedding`, the store embeds on this side instead and sends vectors. Scores are llmdeck's,
higher is better (cosine similarity for cosine collections; BM25 for keyword search; the fused
score for hybrid search); relevance scores are the same numbers. Retrieved documents carry their
item id as `Document.id` and their score as `metadata["score"]`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever

from llmdeck.client import Client
from llmdeck.integrations.collections import CollectionClient, Match, Mode

_SEARCH_TYPES: dict[str, Mode] = {
    "similarity": "vector",
    "similarity_score_threshold": "vector",
    "vector": "vector",
    "keyword": "keyword",
    "hybrid": "hybrid",
}


def _document(match: Match) -> Document:
    return Document(
        id=match.id, page_content=match.text, metadata={**match.metadata, "score": match.score}
    )


class LlmdeckVectorStore(VectorStore):
    """A collection on a llmdeck server (`/api/collections/{name}`)."""

    def __init__(
        self,
        collection: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Client | None = None,
        embedding: Embeddings | None = None,
    ) -> None:
        self.collection = CollectionClient(
            collection, client=client, base_url=base_url, api_key=api_key
        )
        self._embedding = embedding

    @property
    def embeddings(self) -> Embeddings | None:
        """The client-side embedding model, if one was given (else the server embeds)."""
        return self._embedding

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Upsert texts (ids default to fresh ones); returns the ids."""
        given = list(texts)
        names = list(ids) if ids else [_new_id() for _ in given]
        if len(names) != len(given) or (metadatas is not None and len(metadatas) != len(given)):
            raise ValueError("texts, ids and metadatas must have the same length")
        vectors = self._embedding.embed_documents(given) if self._embedding else None
        items: list[dict[str, Any]] = []
        for index, (name, text) in enumerate(zip(names, given, strict=True)):
            item: dict[str, Any] = {"id": name, "text": text}
            if metadatas is not None:
                item["metadata"] = dict(metadatas[index])
            if vectors is not None:
                item["vector"] = vectors[index]
            items.append(item)
        self.collection.upsert(items)
        return names

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upsert documents, keeping their ids when they have them."""
        ids = kwargs.pop("ids", None) or [d.id or _new_id() for d in documents]
        return self.add_texts(
            [d.page_content for d in documents], [d.metadata for d in documents], ids=ids
        )

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete items by id; True if any was there."""
        return self.collection.delete(ids or []) > 0

    def search_matches(
        self, query: str, k: int = 4, *, mode: Mode = "vector", **kwargs: Any
    ) -> list[Match]:
        """llmdeck's search: `mode` vector, keyword or hybrid; `filter`, `fusion`, `alpha`."""
        vector = None
        if self._embedding is not None and mode != "keyword":
            vector = self._embedding.embed_query(query)
        return self.collection.search(
            query, vector=vector, k=k, mode=mode, filter=kwargs.get("filter"),
            fusion=kwargs.get("fusion", "rrf"), alpha=kwargs.get("alpha", 0.5),
        )  # fmt: skip

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The `k` nearest documents (`filter=`, and `mode="hybrid"|"keyword"` too)."""
        return [_document(m) for m in self.search_matches(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with their scores, best first."""
        return [(_document(m), m.score) for m in self.search_matches(query, k, **kwargs)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The `k` nearest documents to a vector."""
        found = self.collection.search(vector=embedding, k=k, filter=kwargs.get("filter"))
        return [_document(m) for m in found]

    def search(self, query: str, search_type: str, **kwargs: Any) -> list[Document]:
        """`similarity`, `similarity_score_threshold`, `keyword` or `hybrid` search."""
        mode = _mode(search_type)
        if search_type == "similarity_score_threshold":
            return [d for d, _ in self.similarity_search_with_relevance_scores(query, **kwargs)]
        return self.similarity_search(query, mode=mode, **kwargs)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return _same

    def as_retriever(self, **kwargs: Any) -> LlmdeckRetriever:
        """A retriever: `search_type` similarity, similarity_score_threshold, keyword or hybrid;
        `search_kwargs` k, filter, fusion, alpha, score_threshold."""
        tags = kwargs.pop("tags", None) or []
        tags.extend(self._get_retriever_tags())
        return LlmdeckRetriever(vectorstore=self, tags=tags, **kwargs)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        collection: str = "langchain",
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> LlmdeckVectorStore:
        """A store over `collection` (created if missing) holding `texts`."""
        store = cls(collection, embedding=embedding, **kwargs)
        store.collection.ensure()
        store.add_texts(texts, metadatas, ids=ids)
        return store


class LlmdeckRetriever(VectorStoreRetriever):
    """`VectorStoreRetriever` with llmdeck's keyword and hybrid search."""

    allowed_search_types: ClassVar[Sequence[str]] = tuple(_SEARCH_TYPES)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        store = self.vectorstore
        if not isinstance(store, LlmdeckVectorStore):
            raise TypeError("LlmdeckRetriever needs a LlmdeckVectorStore")
        options = {**self.search_kwargs, **kwargs}
        return store.search(query, self.search_type, **options)


def _mode(search_type: str) -> Mode:
    if search_type not in _SEARCH_TYPES:
        raise ValueError(
            f"search_type must be one of {', '.join(_SEARCH_TYPES)}, not {search_type!r}"
        )
    return _SEARCH_TYPES[search_type]


def _same(score: float) -> float:
    return score


def _new_id() -> str:
    return uuid.uuid4().hex
