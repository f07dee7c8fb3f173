"""`load_prompt`: a registered llmdeck prompt as a LlamaIndex `ChatPromptTemplate`.

The template's format step is llmdeck's own sandboxed Jinja2 renderer, so the prompt renders
exactly as the gateway renders it; `partial_format`, variable mappings and LlamaIndex's prompt
helpers (which format with empty strings to measure a prompt) work as with any template.
LlamaIndex passes its variables as text (`context_str`, `query_str`): declare them as strings.
The template's `metadata` names the prompt and version, which the llmdeck span handler puts on
the LLM call that formats it.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import ChatPromptTemplate
from pydantic import PrivateAttr

from llmdeck.client import Client
from llmdeck.integrations.registry import RegistryPrompt, fetch_prompt
from llmdeck.prompts import PromptVersion


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


# The pydantic mypy plugin trips over the base class's field named `kwargs`.
class RegistryChatPromptTemplate(ChatPromptTemplate):  # type: ignore[no-redef]
    """A `ChatPromptTemplate` rendered by llmdeck's renderer."""

    _source: RegistryPrompt = PrivateAttr()

    def __init__(self, source: RegistryPrompt, **options: Any) -> None:
        templates = [
            ChatMessage(role=m.role, content=_text(m.content)) for m in source.version.messages
        ]
        super().__init__(templates, metadata=dict(source.metadata), **options)
        self.template_vars = [*source.required, *source.optional]
        self._source = source

    @property
    def source(self) -> RegistryPrompt:
        """The registered version behind this template."""
        return self._source

    def format_messages(self, llm: BaseLLM | None = None, **kwargs: Any) -> list[ChatMessage]:
        """Render with llmdeck's renderer (partials and variable mappings applied first)."""
        variables = self._map_all_vars({**self.kwargs, **kwargs})
        rendered = self._source.render(variables)
        messages = [
            ChatMessage(role=m["role"], content=_text(m["content"])) for m in rendered.messages
        ]
        if self.output_parser is not None:
            messages = self.output_parser.format_messages(messages)
        return messages


def load_prompt(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    client: Client | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    fallback: PromptVersion | dict[str, Any] | None = None,
) -> RegistryChatPromptTemplate:
    """The registered prompt `name` at `label` (default `production`) or `version`, as a
    LlamaIndex `ChatPromptTemplate` (`$LLMDECK_URL`, `$LLMDECK_API_KEY` unless given)."""
    found = fetch_prompt(
        name, label=label, version=version, client=client, base_url=base_url,
        api_key=api_key, fallback=fallback,
    )  # fmt: skip
    return RegistryChatPromptTemplate(found)
