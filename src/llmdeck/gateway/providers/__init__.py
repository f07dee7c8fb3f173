"""Providers: how to talk to each kind of upstream. One module per provider, registered
through the `register_providers` hook (built-ins too)."""

from __future__ import annotations

from typing import Any

from llmdeck.gateway.providers.base import (
    Provider,
    ProviderContext,
    ProviderError,
    ProviderFactory,
)


def provider_factories() -> dict[str, ProviderFactory]:
    """Every registered provider factory by name (built-ins and plugins)."""
    from llmdeck.plugins import get_plugin_manager

    found: dict[str, ProviderFactory] = {}

    def register(name: str, factory: Any) -> None:
        found[name] = factory

    get_plugin_manager().hook.register_providers(register=register)
    return found


__all__ = ["Provider", "ProviderContext", "ProviderError", "ProviderFactory", "provider_factories"]
