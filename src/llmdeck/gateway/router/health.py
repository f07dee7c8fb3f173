"""Active health checks: for aliases with `health_check`, a cheap request to every deployment
each `interval` seconds, whose outcome feeds the deployment's circuit like a request's. A
check is skipped while the circuit refuses requests, and becomes the probe once it
half-opens, so an idle deployment's circuit still closes when it recovers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from llmdeck.config import Deployment, HealthCheck, ModelAlias
from llmdeck.gateway.providers.base import Provider, ProviderError
from llmdeck.gateway.router.circuit import CircuitStore
from llmdeck.gateway.router.events import EventSink, announce
from llmdeck.gateway.wire.openai import ChatRequest, EmbeddingRequest, Message


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The last check of a deployment."""

    at: float
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "at": self.at,
            "ok": self.ok,
            "latency_ms": round(self.latency_ms, 1),
            "error": self.error,
        }


def check_request(check: HealthCheck, alias: str) -> Callable[[Provider], Awaitable[object]]:
    """The cheap request a check sends: a one-token completion, or one embedding."""
    if check.kind == "embedding":
        embedding = EmbeddingRequest(model=alias, input=check.prompt)
        return lambda provider: provider.embed(embedding)
    chat = ChatRequest(
        model=alias, messages=[Message(role="user", content=check.prompt)], max_tokens=1
    )
    return lambda provider: provider.complete(chat)


class HealthChecks:
    """The background checks of every alias that asks for them."""

    def __init__(
        self,
        aliases: tuple[ModelAlias, ...],
        providers: Mapping[str, Provider],
        circuits: CircuitStore,
        events: EventSink | None,
    ) -> None:
        self.aliases = [a for a in aliases if a.health_check is not None and a.deployments]
        self.providers = providers
        self.circuits = circuits
        self.events = events
        self.last: dict[str, CheckResult] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start one loop per checked deployment."""
        for alias in self.aliases:
            for deployment in alias.deployments:
                loop = self._loop(alias, deployment)
                self._tasks.append(asyncio.create_task(loop, name=f"check {deployment.name}"))

    async def close(self) -> None:
        """Stop every loop."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, alias: ModelAlias, deployment: Deployment) -> None:
        assert alias.health_check is not None
        interval = alias.health_check.interval
        await asyncio.sleep(random.uniform(0, interval))  # spread the checks out
        while True:
            await self.check(alias, deployment)
            await asyncio.sleep(interval)

    async def check(self, alias: ModelAlias, deployment: Deployment) -> CheckResult | None:
        """Check one deployment now, if its circuit lets a request through."""
        check = alias.health_check
        assert check is not None
        admission = await self.circuits.admit(
            deployment.name, alias.circuit, time.time(), check.timeout
        )
        if admission.transition is not None:
            announce(admission.transition, alias.name, self.events)
        if not admission.allowed:
            return None
        send = check_request(check, alias.name)
        started = time.perf_counter()
        error: str | None = None
        try:
            async with asyncio.timeout(check.timeout):
                await send(self.providers[deployment.name])
        except TimeoutError:
            error = f"no answer in {check.timeout:g}s"
        except ProviderError as exc:
            error = None if exc.fault == "request" else exc.message  # it answered: it is up
        result = CheckResult(
            time.time(), error is None, (time.perf_counter() - started) * 1000, error
        )
        self.last[deployment.name] = result
        transition = await self.circuits.settle(
            deployment.name,
            alias.circuit,
            "success" if result.ok else "failure",
            result.at,
            probe=admission.probe,
        )
        if transition is not None:
            announce(transition, alias.name, self.events)
        return result
