"""The Index protocol: what a backend does for one collection version. Vectors arrive already
checked (dimension) and normalised (when the collection says so); the Collection above does
embedding, validation, fusion and result assembly the same way for every backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from llmdeck.config import IndexSettings
from llmdeck.vectors.filters import Filter
from llmdeck.vectors.types import Metadata, Record, Vector

Scored = tuple[str, float]
"""(id, score), higher is better."""


class Index(Protocol):
    """Storage and search for one collection version."""

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vector,
        texts: Sequence[str],
        metadata: Sequence[Metadata],
    ) -> None:
        """Insert or replace items by id (atomically for the batch)."""
        ...

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items by id; returns how many existed."""
        ...

    def get(self, ids: Sequence[str], *, vectors: bool = False) -> list[Record]:
        """The stored items among `ids`, in the order asked."""
        ...

    def scan(self, after: str, limit: int) -> list[Record]:
        """Up to `limit` items with id > `after`, in id order (no vectors)."""
        ...

    def count(self) -> int:
        """Live items."""
        ...

    def sample(self, n: int, seed: int) -> list[Record]:
        """Up to `n` random items with their vectors."""
        ...

    def vector_search(
        self,
        vector: Vector,
        k: int,
        flt: Filter | None,
        *,
        exact: bool = False,
        params: IndexSettings | None = None,
    ) -> list[Scored]:
        """The k nearest items (exact=True: no ANN index; params: override search settings)."""
        ...

    def keyword_search(self, text: str, k: int, flt: Filter | None) -> list[Scored]:
        """The k best items by full-text rank."""
        ...

    def build(self, settings: IndexSettings) -> None:
        """Build (or rebuild) the ANN index with these settings."""
        ...

    def configure(self, settings: IndexSettings) -> None:
        """Use these search-time settings (ef_search, probes) from now on."""
        ...

    def optimize(self) -> None:
        """Compact: drop deleted rows and rebuild."""
        ...

    def stats(self) -> dict[str, Any]:
        """Rows, bytes on disk, index state."""
        ...

    def flush(self) -> None:
        """Make everything durable (the ANN index included)."""
        ...

    def close(self) -> None:
        """Flush and release files and connections."""
        ...

    def drop(self) -> None:
        """Delete the data for good."""
        ...
