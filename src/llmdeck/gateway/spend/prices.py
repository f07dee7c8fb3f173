"""What tokens cost: a deployment's configured `price`, else the built-in list price of its model
(`prices.json`), else unknown. Local models are free."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from llmdeck.config import Deployment, Price
from llmdeck.gateway.wire.openai import Usage

FREE = Price(input=0.0, output=0.0)
FREE_PROVIDERS = frozenset({"local"})

_VERSION = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest)$")


@cache
def builtin_prices() -> dict[str, Price]:
    """The shipped list prices by model name (every provider's section merged)."""
    raw = json.loads((Path(__file__).parent / "prices.json").read_text(encoding="utf-8"))
    prices: dict[str, Price] = {}
    for provider, models in raw.items():
        if provider.startswith("_"):
            continue
        for model, price in models.items():
            prices[model] = Price.model_validate(price)
    return prices


def lookup(model: str, prices: dict[str, Price] | None = None) -> Price | None:
    """The list price of `model`: exactly, else without a provider prefix (`openai/gpt-4o`,
    `models/gemini-2.5-pro`), else without a date or `-latest` suffix (`gpt-4o-2024-08-06`,
    `claude-3-5-haiku-latest`, `claude-3-5-sonnet@20240620`), else with `-latest` (Mistral's
    `mistral-small` is listed as `mistral-small-latest`)."""
    table = builtin_prices() if prices is None else prices
    name = model.strip().lower()
    candidates = [name]
    if "/" in name:
        candidates.append(name.split("/", 1)[1])
    for candidate in list(candidates):
        stripped = _VERSION.sub("", candidate)
        candidates += [stripped, stripped + "-latest"]
    for candidate in candidates:
        if candidate in table:
            return table[candidate]
    return None


class PriceBook:
    """Prices for the configured deployments, resolved once."""

    def __init__(self, prices: dict[str, Price] | None = None) -> None:
        self.prices = prices
        self._resolved: dict[str, Price | None] = {}

    def price_of(self, deployment: Deployment) -> Price | None:
        """The deployment's `price`, else its model's list price (free for local models)."""
        if deployment.name in self._resolved:
            return self._resolved[deployment.name]
        price = self.source(deployment)[0]
        self._resolved[deployment.name] = price
        return price

    def source(self, deployment: Deployment) -> tuple[Price | None, str]:
        """The price and where it came from: config, built-in, free, or unknown."""
        if deployment.price is not None:
            return deployment.price, "config"
        if deployment.provider in FREE_PROVIDERS:
            return FREE, "free"
        found = lookup(deployment.model, self.prices)
        return (found, "built-in") if found is not None else (None, "unknown")


def cost_of(usage: Usage, price: Price) -> float:
    """USD for `usage` at `price` (per million tokens); cached input at its own price if set."""
    cached = usage.cached_tokens
    cached_price = price.input if price.cached_input is None else price.cached_input
    fresh = max(0, usage.prompt_tokens - cached)
    total = fresh * price.input + cached * cached_price + usage.completion_tokens * price.output
    return total / 1_000_000
