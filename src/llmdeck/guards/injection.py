"""Prompt injection and jailbreaks, cheapest layer first: normalisation, signatures, then a
hashed n-gram logistic model trained by `scripts/train_injection.py` (about 0.2 ms per 1,000
characters). Encoded payloads are decoded and scanned; documents (indirect injection) are
scanned window by window with the signatures that address a model from inside content."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from llmdeck.guards.base import Detector, DetectorContext, Finding, Verdict, clamp
from llmdeck.guards.decode import payloads, rot13
from llmdeck.guards.features import LinearModel
from llmdeck.guards.normalize import Normalized, normalize
from llmdeck.guards.signatures import DIRECT, INDIRECT, Signature, scan

THRESHOLD = 0.5
DOCUMENT_THRESHOLD = 0.5
_WINDOW = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


@cache
def default_model() -> LinearModel:
    """The classifier shipped in the package."""
    path = resources.files("llmdeck.guards") / "models" / "injection.npz"
    with resources.as_file(path) as file:
        return LinearModel.load(str(file))


@dataclass(frozen=True)
class _Scan:
    score: float
    findings: tuple[Finding, ...]


def _signature_findings(
    normal: Normalized, signatures: tuple[Signature, ...], extra: tuple[str, ...] = ()
) -> _Scan:
    findings = []
    score = 0.0
    for hit in scan(normal.text, signatures):
        start, end = normal.span(hit.start, hit.end)
        labels = ("signature", hit.signature.name, *sorted(normal.evasions), *extra)
        findings.append(Finding("injection", start, end, hit.signature.score, labels))
        score = max(score, hit.signature.score)
    return _Scan(score, tuple(findings))


def _variants(normal: Normalized, signatures: tuple[Signature, ...]) -> _Scan:
    """Signatures on rot13 and reversed text: cheap, and specific enough not to misfire."""
    findings = []
    score = 0.0
    for name, variant in (("rot13", rot13(normal.text)), ("reversed", normal.text[::-1])):
        for hit in scan(variant, signatures):
            labels = ("signature", hit.signature.name, name)
            findings.append(
                Finding("injection", 0, normal.original_length, hit.signature.score, labels)
            )
            score = max(score, hit.signature.score)
    return _Scan(score, tuple(findings))


class InjectionDetector:
    """Direct prompt injection and jailbreaks in a user's prompt."""

    name = "injection"
    redactable = False

    def __init__(self, model: LinearModel | None = None, threshold: float = THRESHOLD) -> None:
        self.model = model or default_model()
        self.threshold = threshold

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Score `text`: the highest of the signature, classifier and decoded-payload risks."""
        if not text.strip():
            return Verdict(0.0)
        normal = normalize(text)
        parts = [self._layers(normal, DIRECT)]
        parts.append(_variants(normal, DIRECT))
        for payload in payloads(text):
            inner = self._layers(normalize(payload.text), DIRECT)
            parts.append(
                _Scan(
                    inner.score,
                    tuple(
                        Finding("injection", payload.start, payload.end, f.score,
                                (*f.labels, payload.encoding))
                        for f in inner.findings
                    ),
                )
            )  # fmt: skip
        score = clamp(max(p.score for p in parts))
        return Verdict(score, tuple(f for p in parts for f in p.findings))

    def _layers(self, normal: Normalized, signatures: tuple[Signature, ...]) -> _Scan:
        signed = _signature_findings(normal, signatures)
        probability = self.model.probability(normal.text)
        findings = signed.findings
        if probability >= self.threshold:
            labels = ("classifier", *sorted(normal.evasions))
            findings += (Finding("injection", 0, normal.original_length, probability, labels),)
        return _Scan(max(signed.score, probability), findings)


class IndirectInjectionDetector:
    """Instructions hidden in content the model will read: retrieved documents, tool output.

    Content is scored sentence by sentence (a one-line injection in a long page would be
    diluted if the page were scored whole), with the direct and the indirect signatures.
    """

    name = "indirect_injection"
    redactable = False

    def __init__(
        self, model: LinearModel | None = None, threshold: float = DOCUMENT_THRESHOLD
    ) -> None:
        self.model = model or default_model()
        self.threshold = threshold

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Score one document."""
        if not text.strip():
            return Verdict(0.0)
        normal = normalize(text)
        signatures = DIRECT + INDIRECT
        parts = [_signature_findings(normal, signatures), _variants(normal, signatures)]
        for payload in payloads(text):
            inner = _signature_findings(normalize(payload.text), signatures, (payload.encoding,))
            moved = tuple(
                Finding(f.type, payload.start, payload.end, f.score, f.labels)
                for f in inner.findings
            )
            parts.append(_Scan(inner.score, moved))
        parts.append(self._windows(normal))
        score = clamp(max(p.score for p in parts))
        return Verdict(score, tuple(f for p in parts for f in p.findings))

    def check_documents(self, documents: Sequence[str]) -> list[Verdict]:
        """One verdict per document, in order."""
        return [self.check(document) for document in documents]

    def _windows(self, normal: Normalized) -> _Scan:
        best = 0.0
        findings = []
        for match in _WINDOW.finditer(normal.text):
            window = match.group().strip()
            if len(window) < 12:
                continue
            probability = self.model.probability(window)
            best = max(best, probability)
            if probability >= self.threshold:
                start, end = normal.span(match.start(), match.end())
                findings.append(Finding("injection", start, end, probability, ("classifier",)))
        return _Scan(best, tuple(findings))


def make_injection(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory for the registry: options `threshold`."""
    return InjectionDetector(threshold=_threshold(options, THRESHOLD))


def make_indirect(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory for the registry: options `threshold`."""
    return IndirectInjectionDetector(threshold=_threshold(options, DOCUMENT_THRESHOLD))


def _threshold(options: dict[str, Any], default: float) -> float:
    unknown = set(options) - {"threshold"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; known: threshold")
    value = options.get("threshold", default)
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError("threshold must be a number between 0 and 1")
    return float(value)
