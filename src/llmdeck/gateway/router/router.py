"""Priority routing with fail-over: deployments are tried in order; a failure that is the
deployment's fault moves on to the next, a failure caused by the request does not."""

from __future__ import annotations

from collections.abc import Mapping

from llmdeck.config import Deployment
from llmdeck.errors import BadRequest, UpstreamError
from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.providers.base import Provider, ProviderError
from llmdeck.gateway.streams import prepend
from llmdeck.gateway.wire.openai import EmbeddingRequest


class Router:
    """The pipeline's endpoint: runs the call on a deployment."""

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self.providers = providers

    async def __call__(self, call: Call) -> Reply:
        failures: list[ProviderError] = []
        for deployment in call.alias.deployments:
            call.attempts.append(deployment.name)
            try:
                reply = await self.attempt(call, deployment)
            except ProviderError as exc:
                if exc.fault == "request":
                    raise BadRequest(exc.message, code="upstream_rejected") from None
                failures.append(exc)
                continue
            call.deployment = deployment
            call.route_reason = "priority" if not failures else f"failover after {len(failures)}"
            return reply
        raise upstream_error(call, failures)

    async def attempt(self, call: Call, deployment: Deployment) -> Reply:
        """One try on one deployment. Streams are read up to their first chunk, so a
        deployment that fails before answering can still be failed over."""
        provider = self.providers[deployment.name]
        if isinstance(call.request, EmbeddingRequest):
            return await provider.embed(call.request)
        if not call.chat.stream:
            return await provider.complete(call.chat)
        stream = provider.stream(call.chat)
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            first = None
        except BaseException:
            await stream.aclose()
            raise
        return prepend(first, stream)


def upstream_error(call: Call, failures: list[ProviderError]) -> UpstreamError:
    """The error for a call whose every attempt failed: 504 if all timed out, 503 if all were
    rate-limited (with the shortest Retry-After), else 502."""
    tried = tuple(call.attempts)
    details = "; ".join(f.message for f in failures)
    if failures and all(f.timeout for f in failures):
        status = 504
    elif failures and all(f.status == 429 for f in failures):
        status = 503
    else:
        status = 502
    waits = [f.retry_after for f in failures if f.retry_after is not None]
    return UpstreamError(
        f"all deployments of {call.alias.name!r} failed ({', '.join(tried)}): {details}",
        status=status,
        deployments=tried,
        retry_after=min(waits) if waits else None,
    )
