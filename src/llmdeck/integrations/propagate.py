"""Join the gateway's spans to the framework's: HTTP client hooks for the SDKs frameworks use.

The OpenAI and Anthropic SDKs take an `http_client`. Built here, it sends the W3C `traceparent`
of the current `observe` span (the framework's LLM span, opened by a llmdeck handler) with each
request, so the gateway records its span for the call as that span's child. When the answer
comes from a llmdeck gateway (it names its trace in `x-llmdeck-trace-id`), the framework's span
is marked `via_gateway`: the gateway's span carries the tokens and the cost, and the handler
keeps the framework's own counts aside (`SpanBook`).

    from langchain_openai import ChatOpenAI
    from llmdeck.integrations import openai_http_client, openai_async_http_client

    llm = ChatOpenAI(model="chat", base_url="http://127.0.0.1:4000/v1", api_key=KEY,
                     http_client=openai_http_client(),
                     http_async_client=openai_async_http_client())

The clients are the SDK's own `DefaultHttpxClient` classes (httpx, or httpx2 for openai>=3),
so they keep the SDK's defaults; the hooks only touch `request.headers` and
`response.headers`, which both libraries share.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from llmdeck.integrations.require import require
from llmdeck.observe import VIA_GATEWAY, current_span, observe

TRACE_HEADER = "x-llmdeck-trace-id"
Hook = Callable[[Any], None]
AsyncHook = Callable[[Any], Awaitable[None]]


def mark_gateway_reply(response: Any) -> None:
    """A response hook: note on the current span that the llmdeck gateway answered it."""
    span = current_span()
    if span is not None and response.headers.get(TRACE_HEADER):
        span.span.attributes[VIA_GATEWAY] = True


async def _amark(response: Any) -> None:
    mark_gateway_reply(response)


def event_hooks() -> dict[str, list[Hook]]:
    """`event_hooks=` for a sync httpx (or httpx2) client: send traceparent, note the gateway."""
    return {"request": [observe.httpx_hook], "response": [mark_gateway_reply]}


def async_event_hooks() -> dict[str, list[AsyncHook]]:
    """`event_hooks=` for an async httpx (or httpx2) client."""
    return {"request": [observe.ahttpx_hook], "response": [_amark]}


def openai_http_client(**kwargs: Any) -> Any:
    """`openai.DefaultHttpxClient` with the hooks (for `http_client=`)."""
    openai = require("openai", "langchain")
    return openai.DefaultHttpxClient(event_hooks=event_hooks(), **kwargs)


def openai_async_http_client(**kwargs: Any) -> Any:
    """`openai.DefaultAsyncHttpxClient` with the hooks (`http_async_client=`,
    `async_http_client=`)."""
    openai = require("openai", "langchain")
    return openai.DefaultAsyncHttpxClient(event_hooks=async_event_hooks(), **kwargs)


def anthropic_http_client(**kwargs: Any) -> Any:
    """`anthropic.DefaultHttpxClient` with the hooks, for an `anthropic.Anthropic` client."""
    anthropic = require("anthropic", "langchain")
    return anthropic.DefaultHttpxClient(event_hooks=event_hooks(), **kwargs)


_SDK_CLIENTS = ("root_client", "root_async_client", "_client", "_async_client", "_aclient")


def join_gateway(target: Any) -> int:
    """Add the hooks to the HTTP clients of the OpenAI or Anthropic SDK clients that a framework
    model holds, for classes that take no `http_client` (LangChain's `ChatAnthropic`,
    LlamaIndex's `Anthropic`). Relies on the SDKs keeping their HTTP client as `_client`, as
    both have for years. Returns how many clients were hooked (again: none added twice)."""
    hooked = 0
    for name in _SDK_CLIENTS:
        sdk = getattr(target, name, None)
        http = getattr(sdk, "_client", None)
        hooks = getattr(http, "event_hooks", None)
        if not isinstance(hooks, dict) or http is None:
            continue
        is_async = inspect.iscoroutinefunction(getattr(http, "send", None))
        wanted: dict[str, list[Any]] = dict(async_event_hooks() if is_async else event_hooks())
        merged = {k: list(hooks.get(k, [])) for k in ("request", "response")}
        for kind, added in wanted.items():
            known = {getattr(h, "__name__", None) for h in merged[kind]}
            merged[kind].extend(h for h in added if h.__name__ not in known)
        http.event_hooks = merged
        hooked += 1
    return hooked
