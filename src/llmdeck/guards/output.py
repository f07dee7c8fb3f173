"""Output checks: JSON validity, JSON-schema conformance, banned terms, length."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from llmdeck.guards.base import Detector, DetectorContext, Finding, Verdict

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def _options(options: dict[str, Any], known: set[str]) -> None:
    unknown = set(options) - known - {"threshold"}
    if unknown:
        listed = ", ".join(sorted(known | {"threshold"}))
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; known: {listed}")


class JsonDetector:
    """Risk 1 when the text is not valid JSON, or (with a `schema`) does not conform to it.
    A Markdown code fence around the JSON is tolerated."""

    name = "json"
    threshold = 0.5
    redactable = False

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        if schema is not None:
            try:
                validator_class = jsonschema.validators.validator_for(schema)
                validator_class.check_schema(schema)
            except SchemaError as exc:
                raise ValueError(f"schema is not a valid JSON schema: {exc.message}") from None
            self.validator: jsonschema.protocols.Validator | None = validator_class(schema)
        else:
            self.validator = None

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Parse, then validate; findings name the first problems."""
        fenced = _FENCE.match(text)
        body = fenced.group(1) if fenced else text
        offset = fenced.start(1) if fenced else 0
        try:
            value = json.loads(body)
        except json.JSONDecodeError as exc:
            at = offset + exc.pos
            return Verdict(1.0, (Finding("invalid_json", at, len(text), 1.0, (exc.msg,)),))
        if self.validator is None:
            return Verdict(0.0)
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))[:5]
        if not errors:
            return Verdict(0.0)
        findings = tuple(
            Finding("schema_violation", offset, offset + len(body), 1.0,
                    (_where(e.absolute_path), e.message[:200]))
            for e in errors
        )  # fmt: skip
        return Verdict(1.0, findings)


def _where(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class BannedTermsDetector:
    """Risk 1 when any banned term appears (whole words, case-insensitive)."""

    name = "banned"
    threshold = 0.5
    redactable = True

    def __init__(self, terms: list[str]) -> None:
        if not terms:
            raise ValueError("terms must list at least one term")
        alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Every occurrence of a banned term."""
        findings = tuple(
            Finding("banned_term", m.start(), m.end(), 1.0) for m in self.pattern.finditer(text)
        )
        return Verdict(1.0 if findings else 0.0, findings)


class LengthDetector:
    """Risk 1 when the text is longer than `max_chars` (or shorter than `min_chars`)."""

    name = "length"
    threshold = 0.5
    redactable = False

    def __init__(self, max_chars: int | None = None, min_chars: int = 0) -> None:
        if max_chars is None and not min_chars:
            raise ValueError("needs max_chars or min_chars")
        self.max_chars = max_chars
        self.min_chars = min_chars

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Compare the length with the limits."""
        if self.max_chars is not None and len(text) > self.max_chars:
            return Verdict(1.0, (Finding("too_long", self.max_chars, len(text), 1.0),))
        if len(text) < self.min_chars:
            return Verdict(1.0, (Finding("too_short", 0, len(text), 1.0),))
        return Verdict(0.0)


def make_json(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory: option `schema` (a JSON schema object)."""
    _options(options, {"schema"})
    schema = options.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise ValueError("schema must be a JSON schema object")
    return JsonDetector(schema)


def make_banned(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory: option `terms` (a list of words or phrases)."""
    _options(options, {"terms"})
    terms = options.get("terms")
    if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
        raise ValueError("terms must be a list of non-empty strings")
    return BannedTermsDetector(terms)


def make_length(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory: options `max_chars`, `min_chars`."""
    _options(options, {"max_chars", "min_chars"})
    limits = {k: options[k] for k in ("max_chars", "min_chars") if k in options}
    for key, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer")
    return LengthDetector(limits.get("max_chars"), limits.get("min_chars", 0))
