"""llmdeck: self-hosted LLMOps in one package.

A model gateway, a prompt registry, RAG with managed vector collections, traces and
evaluations, behind one CLI (`llmdeck`), one HTTP server and one Python SDK
(`llmdeck.Client`, `llmdeck.AsyncClient`, and `llmdeck.observe.observe` for tracing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmdeck.errors import LlmdeckError

if TYPE_CHECKING:
    from llmdeck.client import AsyncClient, Client

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "LlmdeckError", "__version__"]


def __getattr__(name: str) -> Any:
    # The SDK client imports httpx; the server and CLI should not pay for it at import.
    if name in ("Client", "AsyncClient"):
        from llmdeck import client

        return getattr(client, name)
    raise AttributeError(f"module 'llmdeck' has no attribute {name!r}")
