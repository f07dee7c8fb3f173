"""A llmdeck collection as a LlamaIndex retriever.

    retriever = LlmdeckRetriever("docs", base_url="http://127.0.0.1:4000", api_key=KEY,
                                 similarity_top_k=3, mode="hybrid", filter={"source": "git"})
    RetrieverQueryEngine.from_args(retriever, llm=llm)

Searches run on the server (`POST /api/collections/{name}/search`), which embeds the query with
the collection's model. Nodes are `TextNode`s with the item's id, text and metadata, scored by
llmdeck (higher is better).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from llmdeck.client import Client
from llmdeck.integrations.collections import CollectionClient, Match, Mode


def _node(match: Match) -> NodeWithScore:
    node = TextNode(id_=match.id, text=match.text, metadata=dict(match.metadata))
    return NodeWithScore(node=node, score=match.score)


class LlmdeckRetriever(BaseRetriever):
    """Vector, keyword or hybrid search over a llmdeck collection, with a metadata filter."""

    def __init__(
        self,
        collection: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Client | None = None,
        similarity_top_k: int = 4,
        mode: Mode = "vector",
        filter: dict[str, Any] | None = None,
        fusion: str = "rrf",
        alpha: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.collection = CollectionClient(
            collection, client=client, base_url=base_url, api_key=api_key
        )
        self.similarity_top_k = similarity_top_k
        self.mode: Mode = mode
        self.filter = filter
        self.fusion = fusion
        self.alpha = alpha

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.collection.search(
            query_bundle.query_str, k=self.similarity_top_k, mode=self.mode, filter=self.filter,
            fusion=self.fusion, alpha=self.alpha,
        )  # fmt: skip
        return [_node(m) for m in found]
