"""Token estimates for admission: what a request will count against a tokens-per-minute limit,
and the most it can cost (the amount a budget reserves).

The worst case is meant to be an upper bound, so a burst cannot overspend: input tokens are the
larger of four characters a token and three UTF-8 bytes a token (scripts such as CJK run near a
token per character), plus 1,600 tokens per image or other non-text part; output is the request's
`max_tokens` (or the configured default) for each of its `n` choices.
"""

from __future__ import annotations

from collections.abc import Iterable

from llmdeck.config import Price
from llmdeck.gateway.tokens import estimate_prompt, estimate_text
from llmdeck.gateway.wire.openai import ChatRequest, EmbeddingRequest

IMAGE_TOKENS = 1600
BYTES_PER_TOKEN = 3


def admission_tokens(request: ChatRequest | EmbeddingRequest) -> int:
    """Tokens a request counts at admission: estimated input plus its output limit."""
    if isinstance(request, EmbeddingRequest):
        return sum(estimate_text(text) for text in request.texts())
    return estimate_prompt(request) + (request.output_limit() or 0) * (request.n or 1)


def worst_input_tokens(request: ChatRequest | EmbeddingRequest) -> int:
    """An upper estimate of the input tokens."""
    if isinstance(request, EmbeddingRequest):
        return sum(_upper(text) for text in request.texts())
    total = 3
    for message in request.messages:
        total += 4 + _upper(message.text())
        if isinstance(message.content, list):
            total += IMAGE_TOKENS * sum(1 for p in message.content if p.get("type") != "text")
        for call in message.tool_calls or []:
            total += _upper((call.function.name or "") + (call.function.arguments or ""))
    for tool in request.tools or []:
        total += _upper(tool.function.model_dump_json())
    return total


def worst_output_tokens(request: ChatRequest | EmbeddingRequest, default: int) -> int:
    """The most output tokens the request allows."""
    if isinstance(request, EmbeddingRequest):
        return 0
    return (request.output_limit() or default) * (request.n or 1)


def worst_cost(
    request: ChatRequest | EmbeddingRequest, prices: Iterable[Price], default_max_tokens: int
) -> float:
    """The most the request can cost on any of the deployments priced `prices` (USD)."""
    listed = list(prices)
    if not listed:
        return 0.0
    input_price = max(p.input for p in listed)
    output_price = max(p.output for p in listed)
    tokens_in = worst_input_tokens(request)
    tokens_out = worst_output_tokens(request, default_max_tokens)
    return (tokens_in * input_price + tokens_out * output_price) / 1_000_000


def _upper(text: str) -> int:
    by_bytes = -(-len(text.encode()) // BYTES_PER_TOKEN)
    return max(estimate_text(text), by_bytes)
