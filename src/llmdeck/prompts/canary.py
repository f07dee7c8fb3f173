"""Traffic splits and automatic canaries.

A label's targets split its traffic by weight. A request with a `user` lands in a stable bucket:
a hash of (prompt, label, user) mapped onto [0, 1); the targets take consecutive slices of that
range in order, the stable version first, so widening a canary only moves users from the stable
version to the canary, never back. Requests without a user are assigned at random.

An automatic canary widens its share step by step while every `CanaryCheck` holds, and rolls
back on its own, recording why, as soon as one fails. `ErrorRateCheck` reads the spans the
gateway records per prompt version; scores (from users or evaluators) plug in as another check.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, and_, case, func, select

from llmdeck.prompts.model import CanaryPlan, LabelEvent, Target
from llmdeck.store import Store
from llmdeck.store.tables import spans

PUSH = frozenset({"move", "split", "canary-start"})
POP = frozenset({"rollback", "canary-rollback", "canary-abort"})
_NOT_THE_PROMPTS_FAULT = (429, 499)  # rate limits and clients that went away


def bucket(name: str, label: str, user: str) -> float:
    """The user's stable place in [0, 1) for this prompt and label."""
    digest = hashlib.blake2b(f"{name}\x00{label}\x00{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick(targets: list[Target], place: float) -> int:
    """The version whose slice of [0, 1) holds `place`."""
    total = sum(t.weight for t in targets)
    edge = 0.0
    for target in targets:
        edge += target.weight / total
        if place < edge:
            return target.version
    return targets[-1].version


def choose(name: str, label: str, targets: list[Target], user: str | None) -> int:
    """The version a request gets: sticky by `user`, random without one."""
    if len(targets) == 1:
        return targets[0].version
    place = bucket(name, label, user) if user else random.random()
    return pick(targets, place)


def split(stable: int, canary: int, share: float) -> list[Target]:
    """Stable first, the canary taking `share` of the traffic."""
    if share >= 1:
        return [Target(version=canary)]
    return [Target(version=stable, weight=1 - share), Target(version=canary, weight=share)]


def previous_targets(events: list[LabelEvent]) -> list[Target] | None:
    """Where a rollback takes the label: the state before the current one, stepping further back
    with each rollback (canary steps replace a state rather than adding one)."""
    stack: list[list[Target] | None] = [None]
    for event in events:
        if event.action in PUSH:
            stack.append(event.to_targets)
        elif event.action in POP and len(stack) > 1:
            stack.pop()
            stack[-1] = event.to_targets
        else:
            stack[-1] = event.to_targets
    return stack[-2] if len(stack) >= 2 else None


@dataclass(frozen=True)
class CanaryWindow:
    """What a check looks at: a canary version against the stable one since the step began."""

    name: str
    label: str
    stable: int
    canary: int
    since: float
    plan: CanaryPlan


@dataclass(frozen=True)
class Verdict:
    """A check's answer: healthy True/False, or None when there is not enough data yet."""

    healthy: bool | None
    reason: str


class CanaryCheck(Protocol):
    """Judges a canary step. Failing (False) rolls the canary back; None holds it in place."""

    async def __call__(self, window: CanaryWindow) -> Verdict: ...


class ErrorRateCheck:
    """The canary's error rate may exceed the stable version's by at most the plan's tolerance.

    Errors are calls whose span has status `error`, except rate limits (429) and clients that
    went away (499), which say nothing about the prompt.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, window: CanaryWindow) -> Verdict:
        counts = await self.store.aread(lambda c: _counts(c, window))
        total_c, errors_c = counts.get(window.canary, (0, 0))
        total_s, errors_s = counts.get(window.stable, (0, 0))
        need = window.plan.min_requests
        if total_c < need:
            return Verdict(None, f"v{window.canary}: {total_c} of {need} requests so far")
        rate_c = errors_c / total_c
        rate_s = errors_s / total_s if total_s else 0.0
        tolerance = window.plan.max_error_rate_increase
        text = (
            f"v{window.canary} error rate {rate_c:.1%} over {total_c} requests vs {rate_s:.1%} "
            f"over {total_s} on v{window.stable} (tolerance +{tolerance:.1%})"
        )
        return Verdict(rate_c <= rate_s + tolerance, text)


def _counts(conn: Connection, window: CanaryWindow) -> dict[int, tuple[int, int]]:
    failed = and_(spans.c.status == "error", spans.c.http_status.not_in(_NOT_THE_PROMPTS_FAULT))
    query = (
        select(
            spans.c.prompt_version,
            func.count(),
            func.sum(case((failed, 1), else_=0)),
        )
        .where(
            spans.c.prompt_name == window.name,
            spans.c.prompt_version.in_([window.stable, window.canary]),
            spans.c.start_time >= window.since,
        )
        .group_by(spans.c.prompt_version)
    )
    rows = conn.execute(query)
    return {int(v): (int(n), int(e or 0)) for v, n, e in rows}
