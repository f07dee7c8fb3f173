"""The limits stage: a key's requests- and tokens-per-minute, a key whose budget is already
spent, and an alias whose every deployment is over its own limit are refused here with 429 and
Retry-After, before any other work. (The budget reservation itself happens in the cost stage,
next to the router, once the prompt is rendered and the cache has had its chance.)"""

from __future__ import annotations

from llmdeck.errors import RateLimited, UpstreamError
from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.keys.model import KeyRecord
from llmdeck.gateway.limits import Controls, DeploymentLimits, Refusal, Ticket
from llmdeck.gateway.limits.estimate import admission_tokens
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.stages.cost import from_cache


class LimitsStage:
    """Rate limits for keys and deployments."""

    def __init__(self, controls: Controls) -> None:
        self.controls = controls
        self.limited = frozenset(
            alias.name
            for alias in controls.settings.models
            if any(d.rpm is not None or d.tpm is not None for d in alias.deployments)
        )

    async def __call__(self, call: Call, next: Next) -> Reply:
        record = self.controls.ring.get(call.principal.key_id)
        if record is not None:
            await self._admit_key(call, record)
        if call.alias.name not in self.limited:
            return await next(call)
        over = self.controls.deployments.over_all(call.alias)
        if over is not None:
            raise over
        with DeploymentLimits.tracking() as refused:
            try:
                return await next(call)
            except UpstreamError as exc:
                over = self.controls.deployments.over_all(call.alias)
                if over is not None:  # the router skipped some and was refused by the rest
                    raise over from None
                if refused and set(exc.deployments) <= set(refused):
                    raise DeploymentLimits.all_refused(call.alias, refused) from None
                raise

    async def _admit_key(self, call: Call, record: KeyRecord) -> None:
        spent = self.controls.budgets.spent_out(record)
        if spent is not None:
            raise spent
        if record.rpm is None and record.tpm is None:
            return
        tokens = admission_tokens(call.request) if record.tpm is not None else 0
        subject = f"key {record.name!r}"
        result = await self.controls.rates.admit(
            f"key:{record.id}", subject, record.rpm, record.tpm, tokens
        )
        if isinstance(result, Refusal):
            raise RateLimited(result.message, retry_after=result.retry_after)
        if result is not None:
            call.on_end(lambda ended: self._settle(ended, result))

    def _settle(self, call: Call, ticket: Ticket) -> None:
        usage = call.usage
        tokens = (
            0 if from_cache(call) or usage is None else usage.total_tokens or usage.prompt_tokens
        )
        self.controls.spawn(self.controls.rates.settle(ticket, tokens))
