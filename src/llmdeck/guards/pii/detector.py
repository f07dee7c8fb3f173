"""The PII and secrets detector: rule recognisers (checksums, formats, nearby words) and the
token tagger for person names and street addresses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmdeck.guards.base import Detector, DetectorContext, Finding, Verdict
from llmdeck.guards.pii.patterns import RECOGNIZERS, SECRET_TYPES, find_all
from llmdeck.guards.pii.tagger import Tagger, default_tagger

THRESHOLD = 0.5
MODEL_TYPES = frozenset({"person", "street_address"})
RULE_TYPES = frozenset(r.type for r in RECOGNIZERS)
TYPES = RULE_TYPES | MODEL_TYPES


class PiiDetector:
    """Personal data and secrets. The score is the surest finding's; findings below `threshold`
    are dropped (they would only be noise)."""

    name = "pii"
    redactable = True

    def __init__(
        self,
        types: Iterable[str] | None = None,
        threshold: float = THRESHOLD,
        tagger: Tagger | None = None,
    ) -> None:
        self.types = frozenset(types) if types is not None else TYPES
        unknown = self.types - TYPES
        if unknown:
            raise ValueError(
                f"unknown type {sorted(unknown)[0]!r}; known: {', '.join(sorted(TYPES))}"
            )
        self.threshold = threshold
        self._tagger = tagger

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Every finding at or above the threshold, by position."""
        found = [
            Finding(kind, start, end, score, ("secret",) if kind in SECRET_TYPES else ())
            for kind, start, end, score in find_all(text, self.types)
            if score >= self.threshold
        ]
        if self.types & MODEL_TYPES and any(c.isalpha() for c in text):
            tagger = self._tagger or default_tagger()
            for span in tagger.spans(text):
                if span.type not in self.types or span.score < self.threshold:
                    continue
                if any(f.start < span.end and span.start < f.end for f in found):
                    continue  # a rule match (a phone number in an address) wins
                found.append(Finding(span.type, span.start, span.end, span.score, ("model",)))
        found.sort(key=lambda f: f.start)
        return Verdict(max((f.score for f in found), default=0.0), tuple(found))


def make_pii(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory for the registry: options `types` (list), `threshold`."""
    unknown = set(options) - {"types", "threshold"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; known: threshold, types")
    types = options.get("types")
    if types is not None and (
        not isinstance(types, list) or not all(isinstance(t, str) for t in types)
    ):
        raise ValueError("types must be a list of type names")
    threshold = options.get("threshold", THRESHOLD)
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValueError("threshold must be a number between 0 and 1")
    return PiiDetector(types, float(threshold))


def make_secrets(options: dict[str, Any], context: DetectorContext) -> Detector:
    """`secrets`: the PII detector limited to API keys, tokens and private keys."""
    detector = make_pii({"types": sorted(SECRET_TYPES), **options}, context)
    detector.name = "secrets"
    return detector
