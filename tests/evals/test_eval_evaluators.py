"""Evaluators against hand-labelled cases; judges that fail or cannot be read are unmeasured."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from llmdeck.evals import Case, Chunk, EvalScore, Item, Tools
from llmdeck.evals.evaluators import build_one
from llmdeck.evals.local import local_evals
from llmdeck.evals.runs import aggregate
from llmdeck.testing import FakeProvider

from .conftest import eval_settings


def score(entry: Any, output: str, tools: Tools | None = None, **item: Any) -> EvalScore:
    evaluator = build_one(entry, tools or Tools(), Path.cwd())
    fields = {"id": "x", "input": "q", **item}
    chunks = tuple(fields.pop("chunks", ()))
    latency, cost = fields.pop("latency_ms", None), fields.pop("cost", None)
    case = Case(Item(**fields), output, chunks, latency, cost)
    return asyncio.run(evaluator.evaluate(case))


NAMED = {"type": "object", "required": ["name"]}

# (evaluator, answer, item fields, the label a person gave)
LABELLED: list[tuple[Any, str, dict[str, Any], float | None]] = [
    ("exact_match", "Paris", {"expected": "paris"}, 1.0),
    ("exact_match", "  Paris\n", {"expected": "Paris"}, 1.0),
    ("exact_match", "It is Paris", {"expected": "Paris"}, 0.0),
    ("exact_match", "Lyon", {"expected": ["Paris", "Lyon"]}, 1.0),
    ("exact_match", "Paris", {}, None),
    ("contains", "The capital is Paris.", {"expected": "paris"}, 1.0),
    ("contains", "The capital is Lyon.", {"expected": "Paris"}, 0.0),
    ("contains", "red and blue", {"expected": ["red", "blue"]}, 1.0),
    ("contains", "red only", {"expected": ["red", "blue"]}, 0.0),
    ({"contains": {"ignore_case": False}}, "paris", {"expected": "Paris"}, 0.0),
    ({"contains": {"value": "sorry"}}, "I am sorry", {}, 1.0),
    ({"regex": {"pattern": r"\d{4}-\d{2}-\d{2}"}}, "on 2024-05-01", {}, 1.0),
    ({"regex": {"pattern": r"\d{4}-\d{2}-\d{2}"}}, "on May 1st", {}, 0.0),
    ("json_valid", '{"a": 1}', {}, 1.0),
    ("json_valid", '```json\n{"a": 1}\n```', {}, 1.0),
    ("json_valid", "{'a': 1}", {}, 0.0),
    ({"json_schema": {"schema": NAMED}}, '{"name": "x"}', {}, 1.0),
    ({"json_schema": {"schema": NAMED}}, '{"nom": "x"}', {}, 0.0),
    ({"json_schema": {"schema": {"type": "object"}}}, "not json", {}, 0.0),
    ({"length": {"max": 10}}, "short", {}, 1.0),
    ({"length": {"max": 10}}, "much too long an answer", {}, 0.0),
    ({"length": {"min": 3, "unit": "words"}}, "two words", {}, 0.0),
    ({"latency": {"max_ms": 500}}, "x", {"latency_ms": 120.0}, 1.0),
    ({"latency": {"max_ms": 500}}, "x", {"latency_ms": 900.0}, 0.0),
    ({"cost": {"max": 0.01}}, "x", {"cost": 0.002}, 1.0),
    ({"cost": {"max": 0.01}}, "x", {"cost": 0.02}, 0.0),
    ({"cost": {"max": 0.01}}, "x", {}, None),
    ("faithfulness", "The Eiffel Tower is a landmark in Paris.",
     {"context": ["The Eiffel Tower is a landmark in Paris, France."]}, 1.0),
    ("faithfulness", "The Eiffel Tower is a landmark in Paris. It was built by Napoleon in 1650.",
     {"context": ["The Eiffel Tower is a landmark in Paris, France."]}, 0.5),
    ("faithfulness", "The Eiffel Tower was built in 1650 by Napoleon Bonaparte.",
     {"context": ["The Eiffel Tower is a landmark in Paris, France."]}, 0.0),
    ("faithfulness", "Anything.", {}, None),
    ("context_recall", "", {"relevant_ids": ["a", "b"],
                            "chunks": [Chunk("c1", "a", "x"), Chunk("c2", "z", "y")]}, 0.5),
    ("context_recall", "", {"expected": "Spiders have eight legs.",
                            "chunks": [Chunk("c1", "d", "A spider has eight legs.")]}, 1.0),
    ("context_precision", "", {"relevant_ids": ["a"],
                               "chunks": [Chunk("c1", "a", "x"), Chunk("c2", "z", "y")]}, 1.0),
    ("context_precision", "", {"relevant_ids": ["a"],
                               "chunks": [Chunk("c1", "z", "x"), Chunk("c2", "a", "y")]}, 0.5),
    ("context_precision", "", {"relevant_ids": ["a"], "chunks": [Chunk("c1", "z", "x")]}, 0.0),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "output", "item", "label"), LABELLED)
def test_hand_labelled(entry: Any, output: str, item: dict[str, Any], label: float | None) -> None:
    result = score(entry, output, **item)
    assert result.value == label, result.explanation
    assert result.explanation


def test_bad_options_are_named() -> None:
    for entry, message in [
        ({"regex": {}}, "needs pattern"),
        ({"length": {"max": -1}}, "max must be"),
        ({"json_schema": {"schema": {"type": 12}}}, "schema:"),
        ({"judge": {"repeats": 3}}, "needs rubric"),
        ("nope", "unknown evaluator 'nope'"),
        ("no_module_here:fn", "cannot import"),
    ]:
        with pytest.raises(ValueError, match=message):
            build_one(entry, Tools())


def test_custom_function_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(
        "def polite(case):\n"
        "    return ('please' in case.output.lower(), 'asked nicely')\n"
        "async def shouty(case):\n"
        "    return sum(c.isupper() for c in case.output) / max(1, len(case.output))\n"
    )
    polite = build_one("checks.py:polite", Tools(), tmp_path)
    assert polite.name == "polite"
    case = Case(Item("x", "q"), "Please hold")
    assert asyncio.run(polite.evaluate(case)) == EvalScore(1.0, "asked nicely")
    shouty = build_one({"checks.py:shouty": {"name": "caps"}}, Tools(), tmp_path)
    assert shouty.name == "caps"
    assert asyncio.run(shouty.evaluate(Case(Item("x", "q"), "AB"))).value == 1.0


def judge_settings(
    tmp_path: Path, fake: FakeProvider, reply: str | None, status: int | None
) -> Any:
    behaviour: dict[str, Any] = {}
    if reply is not None:
        behaviour["reply"] = reply
    if status is not None:
        behaviour["status"] = status
    import orjson

    deployment = {
        "provider": "openai", "model": "fake-judge", "api_base": fake.openai_base,
        "api_key": "sk-fake", "headers": {"x-fake-behaviour": orjson.dumps(behaviour).decode()},
    }  # fmt: skip
    models = [
        {"name": "chat", "deployments": [{"provider": "local", "model": "extractive"}]},
        {"name": "judge", "retries": 0, "deployments": [deployment]},
    ]
    return eval_settings(tmp_path / "home", models=models, evals={"judge_model": "judge"})


@pytest.mark.parametrize(
    ("reply", "status", "expected"),
    [
        ('{"score": 0.75, "reason": "mostly right"}', None, 0.75),
        ('Sure! {"score": 4, "reason": "good"} hope that helps', None, 0.8),
        ("I think it is quite good.", None, None),
        ('{"score": 7}', None, None),
        (None, 500, None),
    ],
)
def test_judge_verdicts_and_failures(
    tmp_path: Path, fake: FakeProvider, reply: str | None, status: int | None,
    expected: float | None,
) -> None:  # fmt: skip
    settings = judge_settings(tmp_path, fake, reply, status)
    scale = 5 if "4" in (reply or "") else 1

    async def scenario() -> EvalScore:
        async with local_evals(settings) as evals:
            judge = build_one({"judge": {"rubric": "Is it right?", "scale": scale}}, evals.tools())
            result = await judge.evaluate(Case(Item("x", "What is 2+2?", expected="4"), "4"))
            assert evals.prompts is not None
            seeded = await evals.prompts.resolve("llmdeck-judge", label="latest")
            assert "Is it right?" in str(evals.prompts.render(seeded, {
                "rubric": "Is it right?", "input": "", "output": "", "expected": "",
                "context": ""}).messages)  # fmt: skip
            return result

    fake.clear()
    result = asyncio.run(scenario())
    assert result.value == expected, result.explanation
    calls = [r for r in fake.requests if r.body and r.body.get("model") == "fake-judge"]
    if expected is None:
        assert len(calls) == 3  # the first try and judge_retries (2) more
        assert "judge" in result.explanation
    else:
        assert len(calls) == 1


def test_repeated_judging_reports_spread_and_unmeasured_never_poisons_a_mean(
    tmp_path: Path, fake: FakeProvider
) -> None:
    settings = judge_settings(tmp_path, fake, '{"score": 1, "reason": "fine"}', None)

    async def scenario() -> EvalScore:
        async with local_evals(settings) as evals:
            judge = build_one({"judge": {"rubric": "ok?", "repeats": 3}}, evals.tools())
            return await judge.evaluate(Case(Item("x", "q"), "a"))

    result = asyncio.run(scenario())
    assert result.value == 1.0 and result.spread == 0.0 and result.values == (1.0, 1.0, 1.0)
    assert result.to_dict()["spread"] == 0.0

    from llmdeck.evals import Result

    results = [
        Result("a", 0, {}, None, "x", {"judge": {"value": 1.0, "spread": 0.0}}),
        Result("b", 1, {}, None, "x", {"judge": {"value": None, "explanation": "unreadable"}}),
        Result("c", 2, {}, None, "x", {"judge": {"value": 0.5, "spread": 0.2}}),
    ]
    summary = aggregate(results, ["judge"])["judge"]
    assert summary.mean == 0.75 and summary.measured == 2 and summary.unmeasured == 1
    assert summary.repeat_spread == 0.1 and summary.why_unmeasured == "unreadable"
