"""LangChain on llmdeck: tracing, registered prompts and collections (`pip install
'llmdeck[langchain]'`).

- `LlmdeckCallbackHandler`: chains, retrievers, tools and model calls as one llmdeck trace,
  joined with the gateway's spans for the same calls;
- `load_prompt(name, label=...)`: a registered prompt as a `ChatPromptTemplate`;
- `LlmdeckVectorStore`, `LlmdeckRetriever`: a llmdeck collection as a vector store and a
  retriever, with filters and hybrid search.

The gateway itself needs no code: `ChatOpenAI`, `OpenAIEmbeddings` and `ChatAnthropic` work with
`base_url` pointed at llmdeck (docs/integrations.md).
"""

from llmdeck.integrations.require import require

require("langchain_core", "langchain")

from llmdeck.integrations.langchain.callbacks import LlmdeckCallbackHandler  # noqa: E402
from llmdeck.integrations.langchain.prompts import RegistryMessage, load_prompt  # noqa: E402
from llmdeck.integrations.langchain.vectorstore import (  # noqa: E402
    LlmdeckRetriever,
    LlmdeckVectorStore,
)

__all__ = [
    "LlmdeckCallbackHandler",
    "LlmdeckRetriever",
    "LlmdeckVectorStore",
    "RegistryMessage",
    "load_prompt",
]
