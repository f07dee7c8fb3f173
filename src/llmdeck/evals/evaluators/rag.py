"""RAG metrics: context precision and recall (against the item's relevant document ids when
given, otherwise judged), and faithfulness of the answer to the retrieved context (the guards'
groundedness detector)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmdeck.evals.evaluators.base import (
    Case,
    Chunk,
    EvalScore,
    Evaluator,
    Tools,
    options_check,
    unmeasured,
)
from llmdeck.guards import GroundednessDetector
from llmdeck.replies import json_object


def _hit(chunk: Chunk, relevant: set[str]) -> bool:
    return chunk.document_id in relevant or chunk.id in relevant


def supported_share(detector: GroundednessDetector, text: str, context: str,
                    question: str | None = None) -> tuple[float, list[str]]:  # fmt: skip
    """The share of `text`'s sentences the context supports, and the unsupported ones."""
    verdict = detector.assess(text, context, question)
    sentences = verdict.details.get("sentences") if verdict.details else None
    if not sentences:
        flagged = [text[f.start : f.end] for f in verdict.findings]
        return (0.0 if flagged else 1.0), flagged
    unsupported = [
        text[s["start"] : s["end"]] for s in sentences if s["score"] >= detector.threshold
    ]
    return 1 - len(unsupported) / len(sentences), unsupported


RELEVANCE_PROMPT = """Question: {question}
{reference}Passage:
<<<
{passage}
>>>
Is the passage useful for answering the question? Reply with JSON only: {{"relevant": true}} or
{{"relevant": false}}."""


async def judged_relevance(tools: Tools, case: Case, chunk: Chunk) -> bool | None:
    """Whether the judge model finds `chunk` useful for the question (None: no reading)."""
    if tools.complete is None:
        return None
    expected = case.item.expected
    reference = f"Reference answer: {expected}\n" if isinstance(expected, str) else ""
    prompt = RELEVANCE_PROMPT.format(
        question=case.item.question, reference=reference, passage=chunk.text
    )
    for _ in range(tools.judge_retries + 1):
        try:
            reply = await tools.complete(tools.judge_model, [{"role": "user", "content": prompt}])
        except Exception:  # noqa: BLE001 - a failed judge call is retried, then unmeasured
            continue
        data = json_object(reply)
        if data is not None and isinstance(data.get("relevant"), bool):
            return bool(data["relevant"])
    return None


@dataclass
class ContextPrecision:
    """Are the retrieved chunks relevant, the relevant ones ranked first (average precision)?"""

    tools: Tools
    name: str = "context_precision"

    async def evaluate(self, case: Case) -> EvalScore:
        if not case.chunks:
            return unmeasured("nothing was retrieved")
        relevant = set(case.item.relevant_ids)
        if relevant:
            hits: list[bool | None] = [_hit(c, relevant) for c in case.chunks]
            how = "by relevant ids"
        else:
            hits = [await judged_relevance(self.tools, case, c) for c in case.chunks]
            how = "judged"
            if any(h is None for h in hits):
                return unmeasured("the judge could not rate every chunk")
        total = sum(1 for h in hits if h)
        if total == 0:
            return EvalScore(0.0, f"no relevant chunk among {len(hits)} ({how})")
        found, precision_sum = 0, 0.0
        for rank, hit in enumerate(hits, 1):
            if hit:
                found += 1
                precision_sum += found / rank
        value = precision_sum / total
        return EvalScore(value, f"{total} of {len(hits)} chunks relevant ({how})")


@dataclass
class ContextRecall:
    """Did retrieval find what is needed: the share of relevant ids retrieved, or else the share
    of the expected answer's sentences the retrieved context supports."""

    detector: GroundednessDetector = field(default_factory=GroundednessDetector)
    name: str = "context_recall"

    async def evaluate(self, case: Case) -> EvalScore:
        relevant = set(case.item.relevant_ids)
        if relevant:
            found = {c.document_id for c in case.chunks} | {c.id for c in case.chunks}
            missing = sorted(relevant - found)
            value = 1 - len(missing) / len(relevant)
            why = f"missing {', '.join(missing[:5])}" if missing else "all relevant ids retrieved"
            return EvalScore(value, why)
        expected = case.item.expected
        if not isinstance(expected, str) or not expected.strip():
            return unmeasured("needs relevant_ids or an expected answer")
        if not case.context:
            return EvalScore(0.0, "nothing was retrieved")
        share, unsupported = supported_share(self.detector, expected, "\n".join(case.context))
        why = f"unsupported: {unsupported[0][:80]!r}" if unsupported else "expected answer covered"
        return EvalScore(share, why)


@dataclass
class Faithfulness:
    """The share of the answer's sentences that the (retrieved or reference) context supports."""

    detector: GroundednessDetector = field(default_factory=GroundednessDetector)
    name: str = "faithfulness"

    async def evaluate(self, case: Case) -> EvalScore:
        if not case.context:
            return unmeasured("no context to check the answer against")
        if not case.output.strip():
            return unmeasured("empty answer")
        share, unsupported = supported_share(
            self.detector, case.output, "\n".join(case.context), case.item.question
        )
        why = f"unsupported: {unsupported[0][:80]!r}" if unsupported else "every sentence supported"
        return EvalScore(share, why)


def make_precision(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, set())
    return ContextPrecision(tools)


def make_recall(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, set())
    return ContextRecall()


def make_faithfulness(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"threshold"})
    threshold = options.get("threshold", 0.5)
    if not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ValueError("threshold must be a number between 0 and 1")
    return Faithfulness(GroundednessDetector(float(threshold)))
