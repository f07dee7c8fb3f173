"""The cost stage, right before the router: reserve the worst case against the key's budget,
then, when the call ends, set `call.cost` from the deployment's price (configured or built in)
and the real usage, settle the reservation with it, and add the call to the spend roll-up."""

from __future__ import annotations

from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.keys.model import KeyRecord
from llmdeck.gateway.limits import Controls, Hold
from llmdeck.gateway.limits.estimate import worst_cost
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.spend import PriceBook, SpendItem, Totals, cost_of

__all__ = ["CostStage", "cost_of", "from_cache"]

_BUILTIN = PriceBook()


def from_cache(call: Call) -> bool:
    """Whether the reply came from the cache (no upstream call, no cost)."""
    return call.cache is not None and call.cache != "miss"


class CostStage:
    """Budgets and cost. Without controls (a bare pipeline), only the cost."""

    def __init__(self, controls: Controls | None = None) -> None:
        self.controls = controls
        self.prices = controls.prices if controls is not None else _BUILTIN

    async def __call__(self, call: Call, next: Next) -> Reply:
        controls = self.controls
        if controls is None:
            call.on_end(self._cost)
            return await next(call)
        record = controls.ring.get(call.principal.key_id)
        hold = None
        if record is not None and record.budget is not None:
            amount = worst_cost(
                call.request,
                controls.alias_prices(call.alias),
                controls.settings.limits.default_max_tokens,
            )
            hold = await controls.budgets.reserve(record, amount)
        call.on_end(lambda ended: self._end(ended, record, hold))
        return await next(call)

    def _cost(self, call: Call) -> None:
        if call.cost is not None or call.usage is None or call.deployment is None:
            return
        if from_cache(call):
            return
        price = self.prices.price_of(call.deployment)
        call.cost = cost_of(call.usage, price) if price is not None else None

    def _end(self, call: Call, record: KeyRecord | None, hold: Hold | None) -> None:
        assert self.controls is not None
        self._cost(call)
        if hold is not None:
            self.controls.spawn(self.controls.budgets.settle(hold, call.cost or 0.0))
        if call.deployment is None or from_cache(call):
            return
        usage = call.usage
        totals = Totals(
            requests=1,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=usage.cached_tokens if usage else 0,
            cost=call.cost or 0.0,
        )
        self.controls.ledger.add(
            SpendItem(
                moment=call.start_time,
                key_id=call.principal.key_id,
                team=record.team if record is not None else call.principal.team,
                model_alias=call.alias.name,
                deployment=call.deployment.name,
                prompt_name=call.prompt_name,
                tags=call.request.tags or (),
                totals=totals,
            )
        )
