"""Deployment rpm and tpm (`rpm:`/`tpm:` on a deployment in llmdeck.yaml).

Each deployment with a limit gets its provider wrapped: the wrapper admits the request in the
shared windows right before it is sent, and refuses with `DeploymentLimited` (a ProviderError,
status 429, fault "deployment"), which the router treats like an upstream 429: it moves on to
the next deployment. Whichever router runs, the limit holds.

For routers that pick before they try, `DeploymentLimits.available(name)` says, with no I/O,
whether a deployment is known to be over its limit (it was refused within its retry time); a
router should skip those when another deployment can serve. A circuit breaker must not count a
`DeploymentLimited` as a deployment failure.

When every deployment of an alias is over its limit, the limits stage answers 429 with the
soonest Retry-After instead of a 503.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from llmdeck.config import Deployment, ModelAlias
from llmdeck.errors import RateLimited
from llmdeck.gateway.limits.estimate import admission_tokens
from llmdeck.gateway.limits.rates import RateLimiter, Refusal, Ticket
from llmdeck.gateway.providers.base import Provider, ProviderError
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Usage,
)

Spawn = Callable[[Coroutine[Any, Any, None]], None]
_refused: ContextVar[dict[str, Refusal] | None] = ContextVar("llmdeck_refused", default=None)


class DeploymentLimited(ProviderError):
    """A deployment was not tried because it is over its own rpm or tpm. Not an upstream
    failure: circuit breakers and health scores must ignore it."""

    def __init__(self, deployment: str, refusal: Refusal) -> None:
        super().__init__(refusal.message, status=429, retry_after=refusal.retry_after)
        self.deployment = deployment
        self.refusal = refusal


class DeploymentLimits:
    """Admission for deployments with rpm or tpm, and what the router may ask about them."""

    def __init__(self, rates: RateLimiter, spawn: Spawn) -> None:
        self.rates = rates
        self.spawn = spawn
        self._blocked: dict[str, tuple[float, Refusal]] = {}

    def available(self, name: str) -> bool:
        """False while deployment `name` is known to be over its rpm or tpm (no I/O)."""
        blocked = self._blocked.get(name)
        return blocked is None or blocked[0] <= time.monotonic()

    def wrap(self, provider: Provider) -> Provider:
        """The provider, admitting each request first if its deployment has a limit."""
        deployment = provider.deployment
        if deployment.rpm is None and deployment.tpm is None:
            return provider
        return LimitedProvider(provider, self)

    async def admit(
        self, deployment: Deployment, request: ChatRequest | EmbeddingRequest
    ) -> Ticket | None:
        """Count a request to `deployment`, or raise DeploymentLimited."""
        subject = f"deployment {deployment.name!r}"
        tokens = admission_tokens(request) if deployment.tpm is not None else 0
        result = await self.rates.admit(
            f"dep:{deployment.name}", subject, deployment.rpm, deployment.tpm, tokens
        )
        if isinstance(result, Refusal):
            self._blocked[deployment.name] = (time.monotonic() + result.retry_after, result)
            refused = _refused.get()
            if refused is not None:
                refused[deployment.name] = result
            raise DeploymentLimited(deployment.name, result)
        self._blocked.pop(deployment.name, None)
        return result

    def settle(self, ticket: Ticket | None, usage: Usage | None) -> None:
        """Correct the tokens window with the real usage, in the background."""
        if ticket is not None and usage is not None:
            self.spawn(self.rates.settle(ticket, usage.total_tokens or usage.prompt_tokens))

    def over_all(self, alias: ModelAlias) -> RateLimited | None:
        """The 429 for an alias whose every deployment is over its limit, else None."""
        deployments = alias.deployments
        if not deployments or any(self.available(d.name) for d in deployments):
            return None
        return self.all_refused(alias, {d.name: self._blocked[d.name][1] for d in deployments})

    @staticmethod
    def all_refused(alias: ModelAlias, refusals: dict[str, Refusal]) -> RateLimited:
        """The 429 naming each deployment's limit, with the soonest Retry-After."""
        wait = min(r.retry_after for r in refusals.values())
        reasons = "; ".join(r.message.split("; retry")[0] for r in refusals.values())
        return RateLimited(
            f"every deployment of {alias.name!r} is over its rate limit ({reasons}); "
            f"retry in {max(1, round(wait + 0.49))}s",
            retry_after=wait,
            code="deployments_rate_limited",
        )

    @staticmethod
    @contextmanager
    def tracking() -> Iterator[dict[str, Refusal]]:
        """Collect the refusals made while the block runs (in this task)."""
        refused: dict[str, Refusal] = {}
        token = _refused.set(refused)
        try:
            yield refused
        finally:
            _refused.reset(token)


class LimitedProvider:
    """A provider whose deployment has rpm or tpm: admit, call, settle the tokens."""

    def __init__(self, inner: Provider, limits: DeploymentLimits) -> None:
        self.inner = inner
        self.limits = limits
        self.deployment = inner.deployment

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Admitted, then the wrapped provider's reply."""
        ticket = await self.limits.admit(self.deployment, request)
        response = await self.inner.complete(request)
        self.limits.settle(ticket, response.usage)
        return response

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        """Admitted at the first read, then the wrapped provider's chunks."""
        ticket = await self.limits.admit(self.deployment, request)
        inner = self.inner.stream(request)
        usage: Usage | None = None
        try:
            async for chunk in inner:
                if chunk.usage is not None:
                    usage = chunk.usage
                yield chunk
        finally:
            await inner.aclose()
            self.limits.settle(ticket, usage)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Admitted, then the wrapped provider's embeddings."""
        ticket = await self.limits.admit(self.deployment, request)
        response = await self.inner.embed(request)
        self.limits.settle(ticket, response.usage)
        return response
