"""What the cache did, per model alias, since the process started: the hit rate next to the
suspected false hits, and what the hits saved."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AliasStats:
    """Counters for one model alias."""

    lookups: int = 0
    hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    bypassed: int = 0
    refreshed: int = 0
    stored: int = 0
    errors: int = 0
    saved_tokens: int = 0
    saved_usd: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    """Semantic candidates over the threshold refused by the agreement checks, by reason."""
    suspected: Counter[str] = field(default_factory=Counter)
    """Hits later doubted: a `refresh` of a served entry, or negative feedback."""

    def as_dict(self) -> dict[str, Any]:
        """The counters, with the rates derived from them."""
        served = self.hits + self.semantic_hits
        doubted = sum(self.suspected.values())
        return {
            "lookups": self.lookups,
            "hits": self.hits,
            "semantic_hits": self.semantic_hits,
            "misses": self.misses,
            "hit_rate": round(served / self.lookups, 4) if self.lookups else 0.0,
            "suspected_false_hits": doubted,
            "suspected_false_hit_rate": round(doubted / served, 4) if served else 0.0,
            "suspected": dict(self.suspected),
            "rejected": dict(self.rejected),
            "bypassed": self.bypassed,
            "refreshed": self.refreshed,
            "stored": self.stored,
            "errors": self.errors,
            "saved_tokens": self.saved_tokens,
            "saved_usd": round(self.saved_usd, 6),
        }


class CacheStats:
    """AliasStats by alias name."""

    def __init__(self) -> None:
        self.aliases: dict[str, AliasStats] = {}

    def of(self, alias: str) -> AliasStats:
        """The counters of `alias` (made on first use)."""
        stats = self.aliases.get(alias)
        if stats is None:
            stats = self.aliases[alias] = AliasStats()
        return stats

    def as_dict(self) -> dict[str, Any]:
        """Every alias's counters."""
        return {name: stats.as_dict() for name, stats in sorted(self.aliases.items())}
