"""The router: the pipeline's endpoint. For each call it picks a tier (complexity routing),
orders the alias's deployments by its strategy, and walks that order: skipping deployments
whose circuit is open or that are resting after a `Retry-After`, waiting a bounded time for
one under `max_parallel`, failing over on 429, 5xx, timeouts and connection errors, and
backing off between rounds, all within the request's deadline. A 4xx caused by the request
is never retried."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmdeck.config import Deployment, ModelAlias, Settings
from llmdeck.errors import BadRequest
from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.limits.deployments import DeploymentLimited
from llmdeck.gateway.providers.base import Provider, ProviderError
from llmdeck.gateway.router import attempt
from llmdeck.gateway.router.circuit import CIRCUIT_OPEN, CircuitStore, LocalCircuits
from llmdeck.gateway.router.complexity import ComplexityClassifier
from llmdeck.gateway.router.events import EventSink, announce
from llmdeck.gateway.router.health import HealthChecks
from llmdeck.gateway.router.load import Load
from llmdeck.gateway.router.retry import (
    Deadline,
    Failure,
    backoff_delay,
    failure_of,
    skipped,
    upstream_error,
)
from llmdeck.gateway.router.similarity import Embed
from llmdeck.gateway.router.status import routing_status
from llmdeck.gateway.router.strategies import Ranking, Strategy, ordinal, strategy_for

MIN_ATTEMPT = 0.005  # seconds: with less time left than this, an attempt is not started


class Router:
    """Runs each call on a deployment of its alias, failing over and retrying."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        settings: Settings,
        *,
        circuits: CircuitStore | None = None,
        events: EventSink | None = None,
        embed: Embed | None = None,
        rng: random.Random | None = None,
        available: Callable[[str], bool] | None = None,
    ) -> None:
        self.providers = providers
        self.available = available or (lambda name: True)
        self.settings = settings
        self.circuits: CircuitStore = circuits or LocalCircuits()
        self.events = events
        self.rng = rng or random.Random()
        self.loads: dict[str, Load] = {}
        self.strategies: dict[str, Strategy] = {}
        self.classifiers: dict[str, ComplexityClassifier] = {}
        for alias in settings.models:
            for deployment in alias.deployments:
                self.loads.setdefault(deployment.name, Load(deployment.max_parallel))
            if alias.routing == "complexity":
                self.classifiers[alias.name] = ComplexityClassifier(alias.complexity, embed)
            else:
                self.strategies[alias.name] = strategy_for(alias.routing, self.rng)
        self.checks = HealthChecks(settings.models, providers, self.circuits, events)

    async def start(self) -> None:
        """Start the active health checks; embed the complexity examples."""
        self.checks.start()
        for classifier in self.classifiers.values():
            await classifier.warm()

    async def close(self) -> None:
        """Stop the health checks; release the circuit store."""
        await self.checks.close()
        await self.circuits.close()

    async def status(self) -> dict[str, Any]:
        """Every alias's deployments: circuit, load, moving averages, last check."""
        return await routing_status(
            self.settings.models, self.circuits, self.loads, self.checks.last
        )

    async def __call__(self, call: Call) -> Reply:
        """Run the call on a deployment; raises UpstreamError when none served it, BadRequest
        when an upstream refused the request itself."""
        tier_reason = await self._to_tier(call) if call.alias.routing == "complexity" else ""
        alias = call.alias
        limit = min(alias.deadline, call.timeout) if call.timeout else alias.deadline
        run = _Run(self, call, Deadline(limit))
        ranking = self.strategies[alias.name].rank(alias.deployments, call, self.loads)
        reply = await run.rounds(ranking)
        if tier_reason:
            call.route_reason = f"{tier_reason}; {call.route_reason}"
        return reply

    async def _to_tier(self, call: Call) -> str:
        """Re-point the call at the tier alias its complexity calls for; the reason."""
        alias = call.alias
        tiers = alias.tiers or {}
        if call.kind != "chat":
            tier, why = "simple", "not a chat request"
        else:
            verdict = await self.classifiers[alias.name].classify(call.chat)
            tier, why = verdict.tier, verdict.explain()
            call.attributes["complexity"] = round(verdict.score, 3)
        target = self.settings.alias(tiers[tier])
        assert target is not None, "tiers are validated against the aliases"
        call.attributes["routed_from"] = alias.name
        call.attributes["tier"] = tier
        call.alias = target
        return f"complexity: {why} -> {tier} tier {target.name!r}"

    def settler(
        self, alias: ModelAlias, deployment: Deployment, load: Load, probe: bool
    ) -> attempt.Settle:
        """What settles one attempt: its slot, the moving averages, the circuit."""

        async def settle(result: attempt.Settlement) -> None:
            load.release()
            if result.outcome != "released":
                ok = result.outcome == "success"
                load.observe(ok=ok, latency=result.latency, ttft=result.ttft)
            rest = min(result.rest, alias.backoff.max_retry_after)
            transition = await self.circuits.settle(
                deployment.name, alias.circuit, result.outcome, time.time(), probe=probe, rest=rest
            )
            if transition is not None:
                announce(transition, alias.name, self.events)

        return settle


@dataclass(slots=True)
class _Run:
    """One call's walk over the deployments."""

    router: Router
    call: Call
    deadline: Deadline
    failures: list[Failure] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)  # failed in a way a retry will not mend
    ready_at: dict[str, float] = field(default_factory=dict)  # monotonic time worth retrying

    async def rounds(self, ranking: Ranking) -> Reply:
        """The first round over the deployments, then up to `retries` more after a pause."""
        alias = self.call.alias
        for number in range(alias.retries + 1):
            if number and not await self._pause(number):
                break
            reply = await self._round(ranking)
            if reply is not None:
                return reply
        raise upstream_error(alias.name, self.failures, deadline=self.deadline)

    async def _pause(self, number: int) -> bool:
        """Back off before another round; False when no deployment is worth waiting for
        (all open, or excluded) or the wait would not fit in the deadline."""
        now = time.monotonic()
        waits = [
            self.ready_at.get(d.name, now) - now
            for d in self.call.alias.deployments
            if d.name not in self.excluded
        ]
        if not waits:
            return False
        wait = max(backoff_delay(self.call.alias.backoff, number, self.router.rng), min(waits))
        if wait >= self.deadline.remaining() - MIN_ATTEMPT:
            return False
        await asyncio.sleep(wait)
        return True

    async def _round(self, ranking: Ranking) -> Reply | None:
        busy: list[Deployment] = []
        for deployment in ranking.order:
            if deployment.name in self.excluded:
                continue
            if self.deadline.remaining() < MIN_ATTEMPT:
                return None
            if not self.router.available(deployment.name):
                limited = ProviderError(f"{deployment.name} is over its own rate limit", status=429)
                self._fail(failure_of(deployment.name, limited), exclude=True)
                continue
            load = self.router.loads[deployment.name]
            if not load.try_acquire():
                busy.append(deployment)
                continue
            reply = await self._try(deployment, load, ranking)
            if reply is not None:
                return reply
        if busy:
            return await self._wait_for_slot(busy, ranking)
        return None

    async def _wait_for_slot(self, busy: list[Deployment], ranking: Ranking) -> Reply | None:
        """Every free deployment failed or was refused: wait (bounded) for the best busy one."""
        first = busy[0]
        load = self.router.loads[first.name]
        timeout = min(self.call.alias.queue_timeout, self.deadline.remaining() - MIN_ATTEMPT)
        if await load.acquire(timeout):
            return await self._try(first, load, ranking)
        for deployment in busy:
            limit = deployment.max_parallel
            self._skip(deployment, f"busy ({limit} in flight, waited {timeout:.2f}s)", 0.0)
        return None

    async def _try(self, deployment: Deployment, load: Load, ranking: Ranking) -> Reply | None:
        """One attempt, holding a slot of `load`, if the circuit admits it: the reply, or None
        after a failure (the slot is given back either way)."""
        router, call, alias = self.router, self.call, self.call.alias
        lease = min(deployment.timeout, max(self.deadline.remaining(), 0.0))
        try:
            admission = await router.circuits.admit(
                deployment.name, alias.circuit, time.time(), lease
            )
        except BaseException:
            load.release()  # cancelled while asking (a shared store answers over the network)
            raise
        if admission.transition is not None:
            announce(admission.transition, alias.name, router.events)
        if not admission.allowed:
            load.release()
            self._skip(deployment, admission.reason, admission.retry_in)
            return None
        call.attempts.append(deployment.name)
        settle = router.settler(alias, deployment, load, admission.probe)
        provider = router.providers[deployment.name]
        try:
            reply = await attempt.run(provider, call, deployment, self.deadline, settle)
        except ProviderError as exc:
            if exc.fault == "request":
                raise BadRequest(exc.message, code="upstream_rejected") from None
            # over its own rate limit: not worth waiting for within this request
            self._fail(failure_of(deployment.name, exc), exclude=isinstance(exc, DeploymentLimited))
            return None
        call.deployment = deployment
        call.route_reason = self._reason(ranking, deployment)
        return reply

    def _fail(self, failure: Failure, *, exclude: bool = False) -> None:
        self.failures.append(failure)
        if exclude or not failure.retryable:
            self.excluded.add(failure.deployment)
        elif failure.retry_after:
            cap = self.call.alias.backoff.max_retry_after
            self.ready_at[failure.deployment] = time.monotonic() + min(failure.retry_after, cap)

    def _skip(self, deployment: Deployment, reason: str, retry_in: float) -> None:
        self.failures.append(skipped(deployment.name, reason, retry_in))
        if reason == CIRCUIT_OPEN:
            self.ready_at[deployment.name] = float("inf")  # a cooldown is not waited out
        else:
            self.ready_at[deployment.name] = time.monotonic() + retry_in

    def _reason(self, ranking: Ranking, chosen: Deployment) -> str:
        reason = ranking.why(chosen)
        before = [f for f in self.failures if f.deployment != chosen.name]
        if before:
            names = ", ".join(dict.fromkeys(f.deployment for f in before))
            reason += f"; failed over from {names}"
        tries = sum(1 for f in self.failures if f.deployment == chosen.name and f.attempted)
        if tries:
            reason += f"; {ordinal(tries + 1)} attempt on it"
        return reason
