"""Helpers for the evaluation tests: settings on a test database, prompts pushed into the
registry, and small datasets of facts that the `local` extractive model answers from context."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from llmdeck.config import Settings
from llmdeck.evals import Evals
from llmdeck.prompts import PromptSpec, System

ADMIN = System("tests")

GOOD = [
    {"role": "system", "content": "Answer from this context.\n{{ context }}"},
    {"role": "user", "content": "{{ question }}"},
]
EQUIVALENT = [
    {"role": "system", "content": "Reply using the passages below.\n{{ context }}"},
    {"role": "user", "content": "{{ question }}"},
]
WORSE = [  # drops the context: the extractive model has nothing to answer from
    {"role": "system", "content": "Answer the question. {% if context %}{% endif %}"},
    {"role": "user", "content": "{{ question }}"},
]

_SYLLABLES = ["ka", "lo", "mir", "tan", "vel", "quo", "ris", "dun", "pe", "zor", "bai", "ni"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def fact_rows(seed: int, count: int = 24) -> list[dict[str, Any]]:
    """Questions about made-up countries, each with its fact among distractors."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        facts = [(word(rng), word(rng)) for _ in range(4)]
        context = " ".join(f"The capital of {land} is {city}." for land, city in facts)
        land, city = facts[rng.randrange(4)]
        rows.append(
            {
                "id": f"s{seed}-{index}",
                "variables": {"question": f"What is the capital of {land}?", "context": context},
                "expected": city,
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def eval_settings(home: Path, database_url: str | None = None, **extra: Any) -> Settings:
    data: dict[str, Any] = {"home": home, **extra}
    if database_url:
        data["database_url"] = database_url
    return Settings.model_validate(data)


async def push(evals: Evals, name: str, messages: list[dict[str, Any]], *labels: str) -> int:
    assert evals.prompts is not None
    spec = PromptSpec(name=name, messages=messages, model="chat", labels=list(labels))
    result = await evals.prompts.push(spec, ADMIN)
    return result.version.version
