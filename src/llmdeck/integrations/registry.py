"""A registered prompt version for a framework's prompt template.

Templates are rendered by llmdeck's own sandboxed Jinja2 renderer (`PromptVersion.render`), not
translated to the framework's format: `{% if %}`, `{% for %}`, filters and the sandbox's limits
behave exactly as in the gateway, and a missing or wrongly typed variable raises the same
`BadRequest` naming it. The framework template only delegates its format step to this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmdeck.client import Client
from llmdeck.prompts import PromptVersion, RenderedPrompt

PROMPT_NAME = "llmdeck.prompt.name"
PROMPT_VERSION = "llmdeck.prompt.version"
PROMPT_LABEL = "llmdeck.prompt.label"


@dataclass(frozen=True)
class RegistryPrompt:
    """One version of a registered prompt, and the label it was resolved through."""

    version: PromptVersion
    label: str | None = None

    @property
    def name(self) -> str:
        """The prompt's name."""
        return self.version.name

    @property
    def required(self) -> list[str]:
        """Variables a render must be given."""
        return sorted(n for n, v in self.version.variables.items() if not v.optional)

    @property
    def optional(self) -> list[str]:
        """Variables that may be left out."""
        return sorted(n for n, v in self.version.variables.items() if v.optional)

    @property
    def metadata(self) -> dict[str, Any]:
        """What a framework run carries to the trace: the prompt's name, version and label."""
        found: dict[str, Any] = {PROMPT_NAME: self.name, PROMPT_VERSION: self.version.version}
        if self.label:
            found[PROMPT_LABEL] = self.label
        return found

    def render(self, variables: dict[str, Any]) -> RenderedPrompt:
        """The messages, rendered in llmdeck's sandbox (BadRequest names a bad variable)."""
        known = set(self.version.variables)
        given = {k: v for k, v in variables.items() if k in known}
        return self.version.render(given, label=self.label)


def fetch_prompt(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    client: Client | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    fallback: PromptVersion | dict[str, Any] | None = None,
) -> RegistryPrompt:
    """The version of `name` that `label` (default `production`) or `version` names, through
    the SDK's cached, stale-if-error `client.prompts.get` (a new `Client(base_url, api_key)`
    unless one is given)."""
    owned = client is None
    deck = client or Client(base_url, api_key)
    try:
        found = deck.prompts.get(name, label=label, version=version, fallback=fallback)
    finally:
        if owned:
            deck.close()
    return RegistryPrompt(found, label if version is None else None)
