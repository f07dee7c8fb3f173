"""Groundedness, sentence by sentence, locally and through an injected judge."""

from __future__ import annotations

import asyncio

from llmdeck.guards import DetectorContext, GroundednessDetector, build_detector
from llmdeck.guards.grounded import sentences

CONTEXT = (
    "The Eiffel Tower is a lattice tower in Paris, France. It was completed in 1889 for the "
    "World's Fair and designed by the company of Gustave Eiffel."
)


def test_unsupported_sentence_is_named() -> None:
    answer = "The Eiffel Tower is in Paris. It was designed by Leonardo da Vinci in 1925."
    verdict = GroundednessDetector().check(answer, CONTEXT)
    assert verdict.score >= 0.5
    flagged = [answer[f.start : f.end] for f in verdict.findings]
    assert flagged == ["It was designed by Leonardo da Vinci in 1925."]
    assert {"unknown_names", "unknown_numbers"} <= set(verdict.findings[0].labels)


def test_supported_answer_scores_lower_than_a_wrong_one() -> None:
    detector = GroundednessDetector()
    right = detector.check("It was completed in 1889 in Paris.", CONTEXT).score
    wrong = detector.check("It was completed in 1925 in Berlin.", CONTEXT).score
    assert right < wrong and wrong >= 0.9


def test_no_context_means_unsupported() -> None:
    assert GroundednessDetector().check("Anything at all.", None).score == 1.0


def test_judge_decides_when_given() -> None:
    prompts: list[str] = []

    async def judge(prompt: str) -> str:
        prompts.append(prompt)
        return 'Sure: {"unsupported": [2]}'

    detector = build_detector(
        "grounded", {"judge": "chat"}, DetectorContext(judge_for=lambda alias: judge)
    )
    answer = "It is in Paris. It is made of cheese."
    verdict = asyncio.run(detector.acheck(answer, CONTEXT))  # type: ignore[attr-defined]
    assert [answer[f.start : f.end] for f in verdict.findings] == ["It is made of cheese."]
    assert verdict.score == 0.5 and "2. It is made of cheese." in prompts[0]


def test_unreadable_judge_falls_back_to_local() -> None:
    async def judge(prompt: str) -> str:
        return "I cannot answer that"

    detector = GroundednessDetector(judge=judge)
    verdict = asyncio.run(detector.acheck("It was built in 1925 in Rome.", CONTEXT))
    assert verdict.details["judge"] == "unreadable" and verdict.score >= 0.5


def test_a_dot_inside_a_name_or_number_does_not_end_a_sentence() -> None:
    text = "Crossing it records a `budget.warning` event at 0.8 of the budget. Then it stops."
    assert [text[a:b] for a, b in sentences(text)] == [
        "Crossing it records a `budget.warning` event at 0.8 of the budget.",
        "Then it stops.",
    ]
