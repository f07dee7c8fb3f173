"""Cost and spend: prices (configured or built in), what a call cost, and the daily spend
roll-up by key, team, model alias, deployment, prompt and tag."""

from llmdeck.gateway.spend.ledger import SpendItem, SpendLedger, Totals, day_of, spent_since
from llmdeck.gateway.spend.prices import PriceBook, builtin_prices, cost_of, lookup
from llmdeck.gateway.spend.report import COLUMNS, GroupBy, spend_report

__all__ = [
    "COLUMNS",
    "GroupBy",
    "PriceBook",
    "SpendItem",
    "SpendLedger",
    "Totals",
    "builtin_prices",
    "cost_of",
    "day_of",
    "lookup",
    "spend_report",
    "spent_since",
]
