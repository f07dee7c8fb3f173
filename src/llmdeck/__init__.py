"""llmdeck: self-hosted LLMOps in one package.

A model gateway, a prompt registry, RAG with managed vector collections, traces and
evaluations, behind one CLI (`llmdeck`), one HTTP server and one Python SDK.
"""

from llmdeck.errors import LlmdeckError

__version__ = "0.1.0"

__all__ = ["LlmdeckError", "__version__"]
