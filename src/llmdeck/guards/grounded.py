"""Groundedness: is each sentence of an answer supported by the context it was given?

The local method scores every answer sentence from cheap evidence (how much of its content,
its names and its numbers appear in the context; optionally the MiniLM similarity to the
closest context sentence) with weights fitted by `scripts/train_grounded.py`. The answer's
risk is its least supported sentence's. An LLM judge (injected, reached through the gateway)
can be used instead when a model is configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from llmdeck.guards.base import Detector, DetectorContext, Embed, Finding, Judge, Verdict
from llmdeck.replies import json_object

THRESHOLD = 0.5
# A terminator ends a sentence only before a space or the end: `budget.warning`, 3.14 and
# example.com stay inside theirs.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+(?:[.!?]+(?=\s|$)|\n|$)|[.!?]+")
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOPWORDS = """
a an the of in on at to for from by with and or but nor as is was were are be been being
it its this that these those which who whom whose what when where why how there here
than then also not no so such very can could will would shall should may might must do
does did has have had having he she they we you i his her their our your my me him them
us one about into over after before during while because if all any both each few more
most other some only own same just too up down out off again further once s
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, trimmed of surrounding spaces."""
    spans = []
    for match in _SENTENCE.finditer(text):
        chunk = match.group()
        if not chunk.strip() or not any(c.isalnum() for c in chunk):
            continue
        start = match.start() + len(chunk) - len(chunk.lstrip())
        spans.append((start, match.end() - (len(chunk) - len(chunk.rstrip()))))
    return spans


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("'s", "’s", "ies", "es", "s", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Evidence:
    """The context, prepared once for all the answer's sentences."""

    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    grams: frozenset[str]
    numbers: frozenset[str]
    lower: str

    @classmethod
    def of(cls, context: str) -> Evidence:
        """Index `context`."""
        words = [_stem(w) for w in _WORD.findall(context)]
        content = [w for w in words if w not in STOPWORDS]
        return cls(
            frozenset(words),
            frozenset(zip(content, content[1:], strict=False)),
            frozenset(g for w in content for g in _grams(w)),
            frozenset(_numbers(context)),
            context.lower(),
        )


def _grams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 4] for i in range(max(1, len(padded) - 3))]


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in _NUMBER.findall(text)]


FEATURES = ("content", "bigrams", "grams", "names", "numbers", "similarity")


def features(sentence: str, evidence: Evidence) -> dict[str, float]:
    """Share of the sentence's content words, word pairs, 4-grams, capitalised names and numbers
    found in the context (1.0 when the sentence has none of that kind)."""
    words = _WORD.findall(sentence)
    content = [_stem(w) for w in words if w.lower() not in STOPWORDS]
    pairs = list(zip(content, content[1:], strict=False))
    grams = [g for w in content for g in _grams(w)]
    names = [w for i, w in enumerate(words) if w[:1].isupper() and (i or len(words) == 1)]
    numbers = _numbers(sentence)
    return {
        "content": _share([w in evidence.stems for w in content]),
        "bigrams": _share([p in evidence.bigrams for p in pairs]),
        "grams": _share([g in evidence.grams for g in grams]),
        "names": _share([w.lower() in evidence.lower for w in names]),
        "numbers": _share([n in evidence.numbers for n in numbers]),
    }


def _share(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits) if hits else 1.0


@dataclass(frozen=True)
class Weights:
    """A logistic model over standardised features (fitted by the training script)."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def risk(self, values: dict[str, float]) -> float:
        """P(unsupported | features)."""
        x = np.array([values[n] for n in self.names])
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return float(1.0 / (1.0 + np.exp(-(float(np.dot(z, self.coef)) + self.bias))))

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"names": list(self.names), "coef": list(self.coef), "bias": self.bias,
                "mean": list(self.mean), "scale": list(self.scale)}  # fmt: skip


@cache
def default_weights() -> dict[str, Weights]:
    """The shipped weights: `lexical` and, when an embedder is given, `embedding`."""
    path = resources.files("llmdeck.guards") / "models" / "grounded.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        key: Weights(tuple(v["names"]), tuple(v["coef"]), v["bias"], tuple(v["mean"]),
                     tuple(v["scale"]))
        for key, v in data["weights"].items()
    }  # fmt: skip


def answer_features(
    answer: str, context: str, question: str | None = None, embed: Embed | None = None
) -> list[dict[str, float]]:
    """The features of each sentence of `answer` against `context` (and the question, whose
    words an answer may repeat without claiming anything)."""
    evidence = Evidence.of(f"{question}\n{context}" if question else context)
    spans = sentences(answer)
    values = [features(answer[s:e], evidence) for s, e in spans]
    if embed is not None and spans:
        values = _with_similarity(answer, spans, context, values, embed)
    return values


def _with_similarity(
    answer: str,
    spans: list[tuple[int, int]],
    context: str,
    values: list[dict[str, float]],
    embed: Embed,
) -> list[dict[str, float]]:
    pieces = [context[s:e] for s, e in sentences(context)] or [context]
    vectors = np.asarray(embed([answer[s:e] for s, e in spans] + pieces), dtype=np.float32)
    similarity = vectors[: len(spans)] @ vectors[len(spans) :].T
    best = similarity.max(axis=1)
    return [{**v, "similarity": float(b)} for v, b in zip(values, best, strict=True)]


JUDGE_PROMPT = """You check whether an answer is supported by a context.
Context:
<<<
{context}
>>>
Answer sentences:
{sentences}

For each numbered sentence, say whether the context supports it. Reply with JSON only:
{{"unsupported": [numbers of the sentences the context does not support]}}"""


class GroundednessDetector:
    """Risk that an answer is not supported by its context, sentence by sentence.

    `check` is the local method. With a `judge`, `acheck` asks the judge instead and falls
    back to the local method if its reply cannot be read.
    """

    name = "grounded"
    redactable = False

    def __init__(
        self,
        threshold: float = THRESHOLD,
        embed: Embed | None = None,
        judge: Judge | None = None,
        weights: dict[str, Weights] | None = None,
    ) -> None:
        self.threshold = threshold
        self.judge = judge
        known = weights or default_weights()
        self.embed = embed if "embedding" in known else None
        self.weights = known["embedding" if self.embed is not None else "lexical"]

    def check(self, text: str, context: str | None = None) -> Verdict:
        """The local method: the least supported sentence's risk; findings name the sentences
        at or above the threshold."""
        return self.assess(text, context or "")

    def assess(self, answer: str, context: str, question: str | None = None) -> Verdict:
        """Like `check`, with the question the answer responds to (its words are not claims)."""
        spans = sentences(answer)
        if not spans:
            return Verdict(0.0)
        if not context.strip():
            findings = tuple(Finding("unsupported", s, e, 1.0, ("no_context",)) for s, e in spans)
            return Verdict(1.0, findings)
        values = answer_features(answer, context, question, self.embed)
        risks = [self.weights.risk(v) for v in values]
        findings = tuple(
            Finding("unsupported", s, e, risk, _reasons(v))
            for (s, e), risk, v in zip(spans, risks, values, strict=True)
            if risk >= self.threshold
        )
        details = {"sentences": [{"start": s, "end": e, "score": round(r, 4)}
                                 for (s, e), r in zip(spans, risks, strict=True)]}  # fmt: skip
        return Verdict(max(risks), findings, details)

    async def acheck(self, text: str, context: str | None = None) -> Verdict:
        """The judge's verdict when there is a judge, else the local one."""
        if self.judge is None:
            return self.check(text, context)
        spans = sentences(text)
        if not spans:
            return Verdict(0.0)
        numbered = "\n".join(f"{i + 1}. {text[s:e]}" for i, (s, e) in enumerate(spans))
        reply = await self.judge(JUDGE_PROMPT.format(context=context or "", sentences=numbered))
        flagged = _judged(reply, len(spans))
        if flagged is None:
            local = self.check(text, context)
            return Verdict(local.score, local.findings, {**local.details, "judge": "unreadable"})
        findings = tuple(
            Finding("unsupported", s, e, 1.0, ("judge",))
            for i, (s, e) in enumerate(spans)
            if i + 1 in flagged
        )
        return Verdict(len(flagged) / len(spans) if flagged else 0.0, findings, {"judge": "ok"})


def _reasons(values: dict[str, float]) -> tuple[str, ...]:
    reasons = []
    if values.get("names", 1.0) < 1.0:
        reasons.append("unknown_names")
    if values.get("numbers", 1.0) < 1.0:
        reasons.append("unknown_numbers")
    if values.get("bigrams", 1.0) < 0.5:
        reasons.append("low_overlap")
    return tuple(reasons)


def _judged(reply: str, count: int) -> set[int] | None:
    data = json_object(reply)
    numbers = data.get("unsupported") if data is not None else None
    if not isinstance(numbers, list) or not all(isinstance(n, int) for n in numbers):
        return None
    return {n for n in numbers if 1 <= n <= count}


def make_grounded(options: dict[str, Any], context: DetectorContext) -> Detector:
    """Factory for the registry: options `threshold`, `method` (local | judge), `judge` (the
    model alias that judges), `embedding` (use the local embedder when available, default on)."""
    unknown = set(options) - {"threshold", "method", "judge", "embedding"}
    if unknown:
        raise ValueError(
            f"unknown option {sorted(unknown)[0]!r}; known: embedding, judge, method, threshold"
        )
    threshold = options.get("threshold", THRESHOLD)
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValueError("threshold must be a number between 0 and 1")
    method = options.get("method", "judge" if "judge" in options else "local")
    if method not in ("local", "judge"):
        raise ValueError("method must be 'local' or 'judge'")
    judge = None
    if method == "judge":
        alias = options.get("judge")
        if not isinstance(alias, str) or not alias:
            raise ValueError("method 'judge' needs judge: MODEL_ALIAS")
        if context.judge_for is None:
            raise ValueError("an LLM judge is not available here")
        judge = context.judge_for(alias)
    embed = context.embed if options.get("embedding", True) else None
    return GroundednessDetector(float(threshold), embed, judge)
