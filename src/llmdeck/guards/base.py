"""The core type: a Detector reads a text (and optionally its context) and returns a Verdict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Embed = Callable[[list[str]], Any]
"""Texts in, an (n, d) array of L2-normalised float vectors out (e.g. the local MiniLM)."""

Judge = Callable[[str], Awaitable[str]]
"""A prompt in, a model's answer out: an LLM reached through the gateway, injected from above."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector found: its type and where it is (`text[start:end]`).

    Findings never carry the matched text itself, so that they can be stored and logged safely.
    """

    type: str
    start: int
    end: int
    score: float = 1.0
    labels: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape used by the API and recorded on traces."""
        out: dict[str, Any] = {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }
        if self.labels:
            out["labels"] = list(self.labels)
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """A risk `score` in [0, 1] (1: certainly a problem) and the findings behind it."""

    score: float
    findings: tuple[Finding, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def flagged(self, threshold: float) -> bool:
        """Whether the score reaches `threshold`."""
        return self.score >= threshold


CLEAN = Verdict(0.0)


@runtime_checkable
class Detector(Protocol):
    """Text in, Verdict out. `threshold` is the default score at which a verdict is flagged;
    `redactable` says whether findings are spans that may be replaced by placeholders."""

    name: str
    threshold: float
    redactable: bool

    def check(self, text: str, context: str | None = None) -> Verdict:
        """Score `text`; `context` is what the text should be judged against, if anything."""
        ...


@runtime_checkable
class AsyncDetector(Detector, Protocol):
    """A detector with an async path (e.g. one that asks an LLM judge)."""

    async def acheck(self, text: str, context: str | None = None) -> Verdict:
        """Score `text` without blocking the event loop."""
        ...


@dataclass(frozen=True)
class DetectorContext:
    """What detector factories may use, injected by the layer that builds them."""

    embed: Embed | None = None
    judge_for: Callable[[str], Judge] | None = None


DetectorFactory = Callable[[dict[str, Any], DetectorContext], Detector]
"""`factory(options, context) -> Detector`; raises ValueError naming a bad option."""


def clamp(score: float) -> float:
    """`score` limited to [0, 1]."""
    return 0.0 if score < 0.0 else 1.0 if score > 1.0 else float(score)


def max_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict for several: the highest score and every finding."""
    if not verdicts:
        return CLEAN
    findings = tuple(f for v in verdicts for f in v.findings)
    return Verdict(max(v.score for v in verdicts), findings)
