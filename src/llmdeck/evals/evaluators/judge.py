"""LLM-as-judge: a rubric, the judge prompt from the registry, a model through the gateway.

Judges fail and disagree. A call that errors or a reply that cannot be read is retried, then
recorded as unmeasured (None), never as a zero; `repeats: N` judges an item N times and reports
the spread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmdeck.evals.evaluators.base import (
    Case,
    Complete,
    EvalScore,
    Evaluator,
    Tools,
    options_check,
    repeated,
    unmeasured,
)
from llmdeck.replies import json_object

JUDGE_PROMPT_NAME = "llmdeck-judge"
JUDGE_MESSAGES = [
    {
        "role": "system",
        "content": (
            "You grade an answer against a rubric. Reply with JSON only: "
            '{"score": a number from 0 to 1, "reason": "one sentence"}.'
        ),
    },
    {
        "role": "user",
        "content": (
            "Rubric:\n{{ rubric }}\n\nQuestion:\n{{ input }}\n\n"
            "{% if expected %}Reference answer:\n{{ expected }}\n\n{% endif %}"
            "{% if context %}Context:\n{{ context }}\n\n{% endif %}"
            "Answer to grade:\n{{ output }}"
        ),
    },
]
"""The default judge prompt, seeded into the registry when no prompt has its name."""


def parse_verdict(reply: str, scale: float) -> tuple[float, str] | None:
    """(score in [0, 1], reason) from a judge's reply, or None when it cannot be read."""
    data = json_object(reply)
    if data is None:
        return None
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    value = float(score) / scale if scale != 1 else float(score)
    if not 0 <= value <= 1:
        return None
    return value, str(data.get("reason") or "")


async def ask(complete: Complete, model: str, messages: list[dict[str, Any]], retries: int,
              scale: float = 1.0) -> EvalScore:  # fmt: skip
    """One judgement with retries; unmeasured after the last failure."""
    problem = ""
    for _ in range(retries + 1):
        try:
            reply = await complete(model, messages)
        except Exception as exc:  # noqa: BLE001 - any failure of the judge is "unmeasured"
            problem = f"judge call failed: {exc}"[:300]
            continue
        verdict = parse_verdict(reply, scale)
        if verdict is not None:
            return EvalScore(verdict[0], verdict[1])
        problem = f"judge reply unreadable: {reply[:120]!r}"
    return unmeasured(problem)


@dataclass
class Judge:
    """Grades the answer against a rubric with a model; `repeats` takes several judgements."""

    rubric: str
    tools: Tools
    model: str | None = None
    repeats: int = 1
    scale: float = 1.0
    name: str = "judge"

    async def evaluate(self, case: Case) -> EvalScore:
        if self.tools.complete is None or self.tools.render_judge is None:
            return unmeasured("no judge model is available here")
        variables = {
            "rubric": self.rubric,
            "input": case.item.question,
            "output": case.output,
            "expected": _text(case.item.expected),
            "context": "\n\n".join(case.context),
        }
        messages, prompt_model = await self.tools.render_judge(variables)
        model = self.model or prompt_model or self.tools.judge_model
        takes = [
            await ask(self.tools.complete, model, messages, self.tools.judge_retries, self.scale)
            for _ in range(self.repeats)
        ]
        return takes[0] if self.repeats == 1 else repeated(takes)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def make_judge(options: dict[str, Any], tools: Tools) -> Evaluator:
    """Options: `rubric` (required), `model`, `repeats`, `scale` (the top of the judge's scale,
    e.g. 5 for 1-5 grades)."""
    options_check(options, {"rubric", "model", "repeats", "scale"})
    rubric = options.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ValueError("needs rubric: what a good answer does")
    repeats = options.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 20:
        raise ValueError("repeats must be a whole number from 1 to 20")
    scale = options.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
        raise ValueError("scale must be a positive number")
    model = options.get("model")
    if model is not None and not isinstance(model, str):
        raise ValueError("model must be a model alias")
    return Judge(rubric, tools, model, repeats, float(scale))
