"""Deterministic evaluators: exact match, contains, regex, JSON validity and schema, length,
latency and cost thresholds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from llmdeck.evals.evaluators.base import (
    Case,
    EvalScore,
    Evaluator,
    Tools,
    options_check,
    passed,
    unmeasured,
)

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def _expected_texts(case: Case) -> list[str] | None:
    expected = case.item.expected
    if expected is None:
        return None
    if isinstance(expected, list):
        return [str(e) for e in expected]
    if isinstance(expected, str):
        return [expected]
    return [json.dumps(expected)]


def _norm(text: str, ignore_case: bool) -> str:
    text = " ".join(text.split())
    return text.lower() if ignore_case else text


@dataclass
class ExactMatch:
    """1 when the answer equals the expected answer (whitespace folded, any of a list)."""

    name: str = "exact_match"
    ignore_case: bool = True

    async def evaluate(self, case: Case) -> EvalScore:
        wanted = _expected_texts(case)
        if wanted is None:
            return unmeasured("the item has no expected answer")
        got = _norm(case.output, self.ignore_case)
        ok = any(_norm(w, self.ignore_case) == got for w in wanted)
        return passed(ok, "equal" if ok else f"expected {wanted[0][:80]!r}")


@dataclass
class Contains:
    """1 when the answer contains the expected text (or `value`); with a list, all of them."""

    name: str = "contains"
    ignore_case: bool = True
    value: str | list[str] | None = None

    async def evaluate(self, case: Case) -> EvalScore:
        wanted = (
            ([self.value] if isinstance(self.value, str) else self.value)
            if self.value is not None
            else _expected_texts(case)
        )
        if wanted is None:
            return unmeasured("the item has no expected answer")
        got = _norm(case.output, self.ignore_case)
        missing = [w for w in wanted if _norm(w, self.ignore_case) not in got]
        if missing:
            return passed(False, f"missing {missing[0][:80]!r}")
        return passed(True, "contains " + ", ".join(repr(w[:40]) for w in wanted))


@dataclass
class Regex:
    """1 when `pattern` is found in the answer."""

    pattern: re.Pattern[str]
    name: str = "regex"

    async def evaluate(self, case: Case) -> EvalScore:
        match = self.pattern.search(case.output)
        if match:
            return passed(True, f"matched {match.group()[:80]!r}")
        return passed(False, f"no match for /{self.pattern.pattern}/")


def parse_json(text: str) -> Any:
    """The JSON in an answer (a Markdown code fence around it is allowed); raises ValueError."""
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


@dataclass
class JsonValid:
    """1 when the answer is JSON."""

    name: str = "json_valid"

    async def evaluate(self, case: Case) -> EvalScore:
        try:
            parse_json(case.output)
        except ValueError as exc:
            return passed(False, f"not JSON: {exc}")
        return passed(True, "valid JSON")


@dataclass
class JsonSchema:
    """1 when the answer is JSON that conforms to `schema`."""

    schema: dict[str, Any]
    name: str = "json_schema"

    async def evaluate(self, case: Case) -> EvalScore:
        try:
            value = parse_json(case.output)
        except ValueError as exc:
            return passed(False, f"not JSON: {exc}")
        validator = jsonschema.Draft202012Validator(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is None:
            return passed(True, "conforms to the schema")
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return passed(False, f"{where}: {error.message}")


@dataclass
class Length:
    """1 when the answer's length (characters, or words) is within [min, max]."""

    min: int = 0
    max: int | None = None
    unit: str = "chars"
    name: str = "length"

    async def evaluate(self, case: Case) -> EvalScore:
        size = len(case.output.split()) if self.unit == "words" else len(case.output)
        ok = size >= self.min and (self.max is None or size <= self.max)
        bound = f"[{self.min}, {self.max if self.max is not None else '∞'}]"
        return passed(ok, f"{size} {self.unit} {'within' if ok else 'outside'} {bound}")


@dataclass
class Threshold:
    """1 when the item's latency (ms) or cost (USD) is at most `max`."""

    measure: str
    max: float
    name: str

    async def evaluate(self, case: Case) -> EvalScore:
        value = case.latency_ms if self.measure == "latency" else case.cost
        if value is None:
            return unmeasured(f"no {self.measure} was recorded")
        unit = "ms" if self.measure == "latency" else "USD"
        ok = value <= self.max
        return passed(ok, f"{value:.6g} {unit} {'<=' if ok else '>'} {self.max:g}")


def _bool(options: dict[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _number(options: dict[str, Any], key: str, *, required: bool = False) -> float | None:
    value = options.get(key)
    if value is None:
        if required:
            raise ValueError(f"needs {key}: a number")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number")
    return float(value)


def make_exact(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"ignore_case"})
    return ExactMatch(ignore_case=_bool(options, "ignore_case", True))


def make_contains(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"ignore_case", "value"})
    value = options.get("value")
    if value is not None and not isinstance(value, str | list):
        raise ValueError("value must be a text or a list of texts")
    return Contains(ignore_case=_bool(options, "ignore_case", True), value=value)


def make_regex(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"pattern", "ignore_case"})
    pattern = options.get("pattern")
    if not isinstance(pattern, str):
        raise ValueError("needs pattern: a regular expression")
    flags = re.IGNORECASE if _bool(options, "ignore_case", False) else 0
    try:
        return Regex(re.compile(pattern, flags))
    except re.error as exc:
        raise ValueError(f"pattern: {exc}") from None


def make_json_valid(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, set())
    return JsonValid()


def make_json_schema(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"schema"})
    schema = options.get("schema")
    if not isinstance(schema, dict):
        raise ValueError("needs schema: a JSON schema object")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"schema: {exc.message}") from None
    return JsonSchema(schema)


def make_length(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"min", "max", "unit"})
    unit = options.get("unit", "chars")
    if unit not in ("chars", "words"):
        raise ValueError("unit must be chars or words")
    low, high = _number(options, "min"), _number(options, "max")
    if low is None and high is None:
        raise ValueError("needs min or max")
    return Length(int(low or 0), int(high) if high is not None else None, unit)


def make_latency(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"max_ms"})
    limit = _number(options, "max_ms", required=True)
    assert limit is not None
    return Threshold("latency", limit, "latency")


def make_cost(options: dict[str, Any], tools: Tools) -> Evaluator:
    options_check(options, {"max"})
    limit = _number(options, "max", required=True)
    assert limit is not None
    return Threshold("cost", limit, "cost")
