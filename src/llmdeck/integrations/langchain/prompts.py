"""`load_prompt`: a registered llmdeck prompt as a LangChain `ChatPromptTemplate`.

Each registered message becomes a `RegistryMessage`, a message template whose format step is
llmdeck's own sandboxed Jinja2 renderer: the prompt renders exactly as the gateway renders it
(`{% if %}`, loops, filters, limits, typed variables), with no translation to f-strings. The
template is a plain `ChatPromptTemplate` (it composes with `+` and `|` like any other); its
`metadata` names the prompt and version, which `LlmdeckCallbackHandler` puts on the prompt's span
and on the model call that follows it.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.prompts.message import BaseMessagePromptTemplate
from pydantic import ConfigDict

from llmdeck.client import Client
from llmdeck.integrations.registry import RegistryPrompt, fetch_prompt
from llmdeck.prompts import PromptVersion


class RegistryMessage(BaseMessagePromptTemplate):
    """Message `index` of a registered prompt, rendered by llmdeck's renderer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: RegistryPrompt
    index: int

    @property
    def input_variables(self) -> list[str]:
        """The prompt's required variables."""
        return self.source.required

    def format_messages(self, **kwargs: Any) -> list[BaseMessage]:
        """Render the prompt with `kwargs` and return this message."""
        rendered = self.source.render(kwargs)
        return convert_to_messages([rendered.messages[self.index]])

    def pretty_repr(self, html: bool = False) -> str:
        """The message's role and template text."""
        message = self.source.version.messages[self.index]
        text = "\n".join(message.templates())
        return f"{message.role.title()} message (llmdeck template):\n\n{text}"


def as_chat_prompt(source: RegistryPrompt) -> ChatPromptTemplate:
    """A `ChatPromptTemplate` for a fetched prompt version."""
    count = len(source.version.messages)
    messages = [RegistryMessage(source=source, index=i) for i in range(count)]
    metadata = dict(source.metadata)
    if source.version.model:
        metadata["llmdeck.prompt.model"] = source.version.model
    if source.version.params:
        metadata["llmdeck.prompt.params"] = dict(source.version.params)
    return ChatPromptTemplate(
        messages,
        input_variables=source.required,
        optional_variables=source.optional,
        metadata=metadata,
    )


def load_prompt(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    client: Client | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    fallback: PromptVersion | dict[str, Any] | None = None,
) -> ChatPromptTemplate:
    """The registered prompt `name` at `label` (default `production`) or `version`, as a
    `ChatPromptTemplate` rendered by llmdeck's renderer. Fetched through the SDK's cached,
    stale-if-error prompt client (`$LLMDECK_URL`, `$LLMDECK_API_KEY` unless given)."""
    found = fetch_prompt(
        name, label=label, version=version, client=client, base_url=base_url,
        api_key=api_key, fallback=fallback,
    )  # fmt: skip
    return as_chat_prompt(found)
