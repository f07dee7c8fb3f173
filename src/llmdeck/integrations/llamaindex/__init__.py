"""LlamaIndex on llmdeck: tracing, registered prompts and collections (`pip install
'llmdeck[llamaindex]'`).

- `instrument()`: LlamaIndex's instrumentation (spans and events) as llmdeck traces, joined with
  the gateway's spans for the same calls;
- `load_prompt(name, label=...)`: a registered prompt as a `ChatPromptTemplate`;
- `LlmdeckRetriever`: a llmdeck collection as a retriever returning `NodeWithScore`s.

The gateway itself needs no code: LlamaIndex's OpenAI-compatible LLM and embedding classes work
with their base URL pointed at llmdeck (docs/integrations.md).
"""

from llmdeck.integrations.require import require

require("llama_index.core", "llamaindex")

from llmdeck.integrations.llamaindex.handler import (  # noqa: E402
    Instrumentation,
    LlmdeckEventHandler,
    LlmdeckSpanHandler,
    instrument,
)
from llmdeck.integrations.llamaindex.prompts import (  # noqa: E402
    RegistryChatPromptTemplate,
    load_prompt,
)
from llmdeck.integrations.llamaindex.retriever import LlmdeckRetriever  # noqa: E402

__all__ = [
    "Instrumentation",
    "LlmdeckEventHandler",
    "LlmdeckRetriever",
    "LlmdeckSpanHandler",
    "RegistryChatPromptTemplate",
    "instrument",
    "load_prompt",
]
