"""Framework integrations: LangChain and LlamaIndex applications operated through llmdeck.

`llmdeck.integrations.langchain` and `llmdeck.integrations.llamaindex` need their framework
(`pip install 'llmdeck[langchain]'` or `'llmdeck[llamaindex]'`); this package itself imports
neither, so the core never depends on them. What both share lives here:

- `SpanBook`: framework runs as llmdeck spans, in the framework's own parent/child tree;
- `event_hooks()` / `openai_http_client()`: the HTTP client hooks that send the current span's
  `traceparent` to the gateway, so that the gateway's span for a call becomes the child of the
  framework's span for it (and mark that span as carried by the gateway: no double counting);
- `CollectionClient`: a collection on a running llmdeck server (`/api/collections`);
- `RegistryPrompt`: a registered prompt version, rendered by llmdeck's own sandboxed renderer.
"""

from llmdeck.integrations.collections import CollectionClient, Match
from llmdeck.integrations.propagate import (
    anthropic_http_client,
    async_event_hooks,
    event_hooks,
    join_gateway,
    openai_async_http_client,
    openai_http_client,
)
from llmdeck.integrations.registry import RegistryPrompt, fetch_prompt
from llmdeck.integrations.require import require
from llmdeck.integrations.spans import SpanBook
from llmdeck.observe import VIA_GATEWAY

__all__ = [
    "VIA_GATEWAY",
    "CollectionClient",
    "Match",
    "RegistryPrompt",
    "SpanBook",
    "anthropic_http_client",
    "async_event_hooks",
    "event_hooks",
    "fetch_prompt",
    "join_gateway",
    "openai_async_http_client",
    "openai_http_client",
    "require",
]
