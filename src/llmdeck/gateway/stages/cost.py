"""The cost stage: what a call cost, from the deployment's price and the real usage."""

from __future__ import annotations

from llmdeck.config import Price
from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.wire.openai import Usage


def cost_of(usage: Usage, price: Price) -> float:
    """USD for `usage` at `price` (per million tokens); cached input at its own price if set."""
    cached = usage.cached_tokens
    cached_price = price.input if price.cached_input is None else price.cached_input
    fresh = max(0, usage.prompt_tokens - cached)
    total = fresh * price.input + cached * cached_price + usage.completion_tokens * price.output
    return total / 1_000_000


class CostStage:
    """Sets `call.cost` when the call ends (0 for deployments without a price)."""

    async def __call__(self, call: Call, next: Next) -> Reply:
        call.on_end(_settle)
        return await next(call)


def _settle(call: Call) -> None:
    if call.cost is not None or call.usage is None or call.deployment is None:
        return
    price = call.deployment.price
    call.cost = cost_of(call.usage, price) if price is not None else 0.0
