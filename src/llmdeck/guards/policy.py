"""A model alias's guards, built from its `guards:` config, applied to texts: detect, redact,
block. Knows nothing of the gateway's shapes: texts come in as (role, text) pairs."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llmdeck.config import GuardRule, GuardsConfig
from llmdeck.errors import BadRequest, Problem
from llmdeck.guards.base import AsyncDetector, Detector, DetectorContext, Verdict
from llmdeck.guards.redact import Vault, redact
from llmdeck.guards.registry import build_detector

Side = Literal["input", "output"]
ALL_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# What a detector reads on the input when the rule names no roles: a redacting rule reads
# everything (nothing in clear may pass), injection the user's turns, indirect injection tools.
DEFAULT_ROLES = {"indirect_injection": frozenset({"tool", "function"})}
USER = frozenset({"user"})


class GuardBlocked(BadRequest):
    """A guard in `block` mode refused the request or its answer (400, code `guard_blocked`)."""

    def __init__(self, guard: str, side: Side, score: float, threshold: float) -> None:
        super().__init__(
            f"blocked by guard {guard!r} on the {side} (score {score:.2f} >= {threshold:.2f})",
            code="guard_blocked",
            param=f"guards.{side}.{guard}",
        )
        self.guard = guard
        self.side = side


@dataclass(frozen=True)
class Guard:
    """One configured detector on one side."""

    name: str
    side: Side
    detector: Detector
    mode: str
    threshold: float
    restore: bool
    roles: frozenset[str]


@dataclass(frozen=True)
class Result:
    """What one guard found in one text, and what was done about it."""

    guard: str
    side: Side
    verdict: Verdict
    flagged: bool
    action: str
    index: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The shape recorded on traces (no matched text)."""
        return {
            "guard": self.guard,
            "side": self.side,
            "score": round(self.verdict.score, 4),
            "flagged": self.flagged,
            "action": self.action,
            "findings": [f.as_dict() for f in self.verdict.findings[:20]],
        }


@dataclass
class Checked:
    """The texts after the guards (redacted where asked), what each guard found, and the
    guard that blocked, if any."""

    texts: list[str]
    results: list[Result] = field(default_factory=list)
    blocked: GuardBlocked | None = None


async def run_detector(detector: Detector, text: str, context: str | None = None) -> Verdict:
    """`check`, or `acheck` for detectors that have an async path."""
    if isinstance(detector, AsyncDetector):
        return await detector.acheck(text, context)
    if len(text) > 20_000:
        return await asyncio.to_thread(detector.check, text, context)
    return detector.check(text, context)


class Policy:
    """The guards of one model alias, in config order."""

    def __init__(self, guards: Sequence[Guard]) -> None:
        self.input = tuple(g for g in guards if g.side == "input" and g.mode != "off")
        self.output = tuple(g for g in guards if g.side == "output" and g.mode != "off")
        self.restores = any(g.restore for g in self.input)
        self.streams_buffered = any(g.mode in ("redact", "block") for g in self.output)

    async def check(
        self,
        side: Side,
        texts: Sequence[tuple[str, str]],
        vault: Vault,
        context: str | None = None,
    ) -> Checked:
        """Run this side's guards over `(role, text)` pairs; redact in place, note a block."""
        guards = self.input if side == "input" else self.output
        checked = Checked([text for _, text in texts])
        for guard in guards:
            for index, (role, _) in enumerate(texts):
                if role not in guard.roles:
                    continue
                await self._apply(guard, checked, index, vault, context)
        return checked

    async def _apply(
        self, guard: Guard, checked: Checked, index: int, vault: Vault, context: str | None
    ) -> None:
        text = checked.texts[index]
        if not text:
            return
        verdict = await run_detector(guard.detector, text, context)
        flagged = verdict.score >= guard.threshold
        action = "passed"
        if flagged:
            action = "flagged"
            if guard.mode == "redact":
                kept = [f for f in verdict.findings if f.score >= guard.threshold]
                checked.texts[index] = redact(text, kept, vault)
                action = "redacted"
            elif guard.mode == "block":
                action = "blocked"
                if checked.blocked is None:
                    checked.blocked = GuardBlocked(
                        guard.name, guard.side, verdict.score, guard.threshold
                    )
        if flagged or verdict.findings:
            checked.results.append(Result(guard.name, guard.side, verdict, flagged, action, index))


def _guard(name: str, side: Side, rule: GuardRule, context: DetectorContext) -> Guard:
    options = dict(rule.options)
    if rule.threshold is not None:
        options["threshold"] = rule.threshold
    detector = build_detector(name, options, context)
    if rule.mode == "redact" and not detector.redactable:
        raise ValueError(f"detector {name!r} cannot redact; use flag or block")
    roles: frozenset[str]
    if rule.roles is not None:
        roles = frozenset(rule.roles)
    elif side == "output":
        roles = frozenset({"assistant"})
    elif rule.mode == "redact":
        roles = ALL_ROLES
    else:
        roles = DEFAULT_ROLES.get(name, USER)
    threshold = rule.threshold if rule.threshold is not None else detector.threshold
    return Guard(name, side, detector, rule.mode, threshold, rule.restore, roles)


def build_policy(
    config: GuardsConfig, context: DetectorContext, path: str = "guards", source: str = ""
) -> tuple[Policy, list[Problem]]:
    """The policy for `config`, and every problem found, named by its config path."""
    guards: list[Guard] = []
    problems: list[Problem] = []
    sides: tuple[tuple[Side, dict[str, GuardRule]], ...] = (
        ("input", config.input),
        ("output", config.output),
    )
    for side, rules in sides:
        for name, rule in rules.items():
            try:
                guards.append(_guard(name, side, rule, context))
            except ValueError as exc:
                problems.append(Problem(f"{path}.{side}.{name}", str(exc), source))
    return Policy(guards), problems


class Counters:
    """How many times each guard fired, by side and action (for metrics)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.findings: Counter[tuple[str, str]] = Counter()

    def add(self, results: Sequence[Result]) -> None:
        """Count `results` and their findings by type."""
        for result in results:
            self.counts[(result.guard, result.side, result.action)] += 1
            for finding in result.verdict.findings:
                self.findings[(result.guard, finding.type)] += 1
