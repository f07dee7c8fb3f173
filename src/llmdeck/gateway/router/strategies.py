"""Routing strategies: each orders an alias's deployments for one call, best first, and says
why the one chosen was preferred. The router then walks that order, skipping deployments
whose circuit is open, and fails over along it.

| strategy | order |
| --- | --- |
| priority | as configured |
| weighted | a random draw in proportion to `weight` (weight 0: only as a fallback) |
| least-latency | moving average of latency (time to first token for streams); unmeasured first |
| lowest-cost | `price` times the call's estimated tokens; unpriced deployments last |
| least-busy | fewest requests in flight on this replica |
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from llmdeck.config import Deployment
from llmdeck.gateway.call import Call
from llmdeck.gateway.router.load import Load
from llmdeck.gateway.tokens import estimate_prompt, estimate_text
from llmdeck.gateway.wire.openai import ChatRequest

DEFAULT_OUTPUT_TOKENS = 256  # assumed reply length for pricing when max_tokens is not given
SHOWN = 3  # how many runners-up a reason names


@dataclass(frozen=True, slots=True)
class Ranking:
    """Deployments best first, and `why(d)`: the reason `d` was preferred."""

    order: Sequence[Deployment]
    why: Callable[[Deployment], str]


class Strategy(Protocol):
    """Orders deployments for a call."""

    name: str

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """The deployments best first, with the reason for the choice."""
        ...


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Priority:
    """In the configured order."""

    name = "priority"

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """As configured."""

        def why(chosen: Deployment) -> str:
            position = next(i for i, d in enumerate(deployments) if d is chosen) + 1
            return f"priority: {ordinal(position)} of {len(deployments)}"

        return Ranking(deployments, why)


class Weighted:
    """A weighted random order (Efraimidis-Spirakis sampling without replacement)."""

    name = "weighted"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """Drawn by weight; weight-0 deployments last, in configured order."""
        rng = self.rng
        keyed = [
            (rng.random() ** (1.0 / d.weight) if d.weight > 0 else -1.0 - i, d)
            for i, d in enumerate(deployments)
        ]
        keyed.sort(key=lambda pair: pair[0], reverse=True)
        total = sum(d.weight for d in deployments) or 1.0

        def why(chosen: Deployment) -> str:
            share = chosen.weight / total
            return f"weighted: drew {chosen.name} (weight {chosen.weight:g}, {share:.0%})"

        return Ranking([d for _, d in keyed], why)


def _explain(
    label: str,
    scored: list[tuple[float | None, Deployment]],
    show: Callable[[float], str],
    missing: str = "unmeasured",
) -> Callable[[Deployment], str]:
    """A `why` naming the chosen deployment's figure and the runners-up's."""

    def why(chosen: Deployment) -> str:
        def figure(score: float | None) -> str:
            return missing if score is None else show(score)

        mine = next(s for s, d in scored if d is chosen)
        runners_up = islice(((s, d) for s, d in scored if d is not chosen), SHOWN)
        others = [f"{d.name} {figure(s)}" for s, d in runners_up]
        vs = f" vs {', '.join(others)}" if others else ""
        return f"{label}: {chosen.name} {figure(mine)}{vs}"

    return why


class LeastLatency:
    """The lowest moving average of latency (time to first token for streams)."""

    name = "least-latency"

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """Fastest first; unmeasured (or not measured lately) first of all, to learn them."""
        now = time.monotonic()
        streaming = call.streaming
        scored: list[tuple[float | None, Deployment]] = []
        for deployment in deployments:
            load = loads[deployment.name]
            score = load.ttft.current(now) if streaming else None
            if score is None:
                score = load.latency.current(now)
            scored.append((score, deployment))
        scored.sort(key=lambda pair: -1.0 if pair[0] is None else pair[0])
        label = "least-latency (TTFT)" if streaming else "least-latency"
        why = _explain(label, scored, lambda s: f"{s * 1000:.0f} ms")
        return Ranking([d for _, d in scored], why)


def estimated_tokens(call: Call) -> tuple[int, int]:
    """The call's input tokens (estimated) and output tokens (its limit, or a default)."""
    request = call.request
    if isinstance(request, ChatRequest):
        return estimate_prompt(request), request.output_limit() or DEFAULT_OUTPUT_TOKENS
    return sum(estimate_text(t) for t in request.texts()), 0


class LowestCost:
    """The lowest estimated cost of this call."""

    name = "lowest-cost"

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """Cheapest first; deployments without a price last, in configured order."""
        tokens_in, tokens_out = estimated_tokens(call)
        scored: list[tuple[float | None, Deployment]] = []
        for deployment in deployments:
            price = deployment.price
            cost = None
            if price is not None:
                cost = (tokens_in * price.input + tokens_out * price.output) / 1e6
            scored.append((cost, deployment))
        scored.sort(key=lambda pair: float("inf") if pair[0] is None else pair[0])
        label = f"lowest-cost ({tokens_in} in + {tokens_out} out tokens)"
        why = _explain(label, scored, lambda s: f"${s:.6f}", missing="no price")
        return Ranking([d for _, d in scored], why)


class LeastBusy:
    """The fewest requests in flight on this replica."""

    name = "least-busy"

    def rank(
        self, deployments: Sequence[Deployment], call: Call, loads: Mapping[str, Load]
    ) -> Ranking:
        """Least loaded first; ties in configured order."""
        scored: list[tuple[float | None, Deployment]] = [
            (float(loads[d.name].in_flight), d) for d in deployments
        ]
        scored.sort(key=lambda pair: pair[0] or 0.0)
        why = _explain("least-busy", scored, lambda s: f"{s:.0f} in flight")
        return Ranking([d for _, d in scored], why)


_STRATEGIES: dict[str, Callable[[random.Random], Strategy]] = {
    "priority": lambda rng: Priority(),
    "weighted": Weighted,
    "least-latency": lambda rng: LeastLatency(),
    "lowest-cost": lambda rng: LowestCost(),
    "least-busy": lambda rng: LeastBusy(),
}


def strategy_for(routing: str, rng: random.Random) -> Strategy:
    """The strategy named by an alias's `routing` (weighted draws from `rng`)."""
    return _STRATEGIES[routing](rng)
