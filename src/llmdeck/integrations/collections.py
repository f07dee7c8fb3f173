"""A vector collection on a running llmdeck server, as the framework adapters use it.

The adapters talk to `/api/collections` over HTTP (the SDK's `Client`: errors become
`llmdeck.errors` exceptions naming the problem, and calls made inside a span carry its
`traceparent`). The server embeds texts and queries with the collection's model through its
gateway, so the application needs no embedding model of its own; searching takes any valid key,
writing needs the admin key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from llmdeck.client import Client
from llmdeck.errors import NotFound

Mode = Literal["vector", "keyword", "hybrid"]
MODES: tuple[str, ...] = ("vector", "keyword", "hybrid")


@dataclass(frozen=True)
class Match:
    """One search hit: the item's id, text, metadata and higher-is-better score."""

    id: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    vector_score: float | None = None
    keyword_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The shape a retrieval span records: id, content, score, metadata."""
        return {"id": self.id, "content": self.text, "score": self.score,
                "metadata": self.metadata}  # fmt: skip


class CollectionClient:
    """One collection: search, upsert, delete, create."""

    def __init__(
        self,
        name: str,
        *,
        client: Client | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.name = name
        self.client = client or Client(base_url, api_key)
        self._path = f"/api/collections/{quote(name, safe='')}"

    def search(
        self,
        query: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        mode: Mode = "vector",
        fusion: str = "rrf",
        alpha: float = 0.5,
    ) -> list[Match]:
        """The `k` best items for a text query (or a vector), with a metadata filter."""
        if mode not in MODES:
            raise ValueError(f"search mode must be one of {', '.join(MODES)}, not {mode!r}")
        body: dict[str, Any] = {"k": k, "mode": mode, "fusion": fusion, "alpha": alpha}
        if query is not None:
            body["query"] = query
        if vector is not None:
            body["vector"] = [float(x) for x in vector]
        if filter:
            body["filter"] = filter
        found = self.client.request("POST", f"{self._path}/search", json=body)
        return [_match(hit) for hit in found["hits"]]

    def upsert(self, items: Sequence[dict[str, Any]]) -> int:
        """Add or replace items `{"id", "text", "metadata"?, "vector"?}`; returns the count."""
        if not items:
            return 0
        found = self.client.request("POST", f"{self._path}/items", json={"items": list(items)})
        return int(found["upserted"])

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id; returns how many there were."""
        if not ids:
            return 0
        found = self.client.request("POST", f"{self._path}/items/delete", json={"ids": list(ids)})
        return int(found["deleted"])

    def ensure(self, **settings: Any) -> bool:
        """Create the collection (model, metric, ... as `POST /api/collections` takes) unless it
        exists; True if it was created."""
        try:
            self.client.request("GET", self._path)
            return False
        except NotFound:
            self.client.request("POST", "/api/collections", json={"name": self.name, **settings})
            return True


def _match(hit: dict[str, Any]) -> Match:
    return Match(
        id=str(hit["id"]),
        text=str(hit.get("text") or ""),
        score=float(hit["score"]),
        metadata=dict(hit.get("metadata") or {}),
        vector_score=hit.get("vector_score"),
        keyword_score=hit.get("keyword_score"),
    )
