"""Running one batch line through the normal gateway flow (limits, cache, routing, cost,
traces), as the batch's owner, and turning the result into the line's answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from llmdeck.errors import ApiError, RateLimited, UpstreamError
from llmdeck.gateway.batch.ingest import ENDPOINTS
from llmdeck.gateway.batch.work import Claimed, Outcome
from llmdeck.gateway.call import Kind, Principal
from llmdeck.gateway.wire.openai import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    error_body,
)

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway

log = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


async def execute(gateway: Gateway, principal: Principal, endpoint: str, line: Claimed) -> Outcome:
    """The answer to one line (an error answer for errors; `retryable` when trying again later
    may succeed)."""
    request = ENDPOINTS[endpoint].model_validate(line.body)
    assert isinstance(request, ChatRequest | EmbeddingRequest)
    kind: Kind = "chat" if isinstance(request, ChatRequest) else "embeddings"
    trace_id = None
    try:
        call = gateway.new_call(kind, request, principal)
        trace_id = call.trace_id
        call.attributes.update(batch_id=line.batch_id, batch_custom_id=line.custom_id)
        reply = await gateway.handle(call)
    except ApiError as exc:
        retry_after = exc.retry_after if isinstance(exc, RateLimited | UpstreamError) else None
        return Outcome(
            exc.status,
            error_body(exc.message, exc.type, exc.code, exc.param),
            request_id=trace_id,
            retryable=exc.status in RETRYABLE,
            retry_after=retry_after,
        )
    except Exception:  # a bug answers this line with a 500, the batch goes on
        log.exception("batch %s line %d failed", line.batch_id, line.line)
        body = error_body("internal server error", "api_error", "internal_error")
        return Outcome(500, body, request_id=trace_id, retryable=True)
    if not isinstance(reply, ChatResponse | EmbeddingResponse):
        await reply.aclose()
        body = error_body("a batch request got a stream", "api_error", "internal_error")
        return Outcome(500, body, request_id=call.trace_id)
    usage = call.usage
    return Outcome(
        200,
        reply.model_dump(exclude_none=True),
        request_id=call.trace_id,
        cost=call.cost,
        input_tokens=usage.prompt_tokens if usage else None,
        output_tokens=usage.completion_tokens if usage else None,
    )
