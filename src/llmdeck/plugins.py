"""The plugin manager. Built-in providers, detectors, loaders and evaluators register through
the same hooks as third-party plugins."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache

import pluggy

from llmdeck import hookspecs

DEFAULT_PLUGINS = (
    "llmdeck.gateway.providers.openai",
    "llmdeck.gateway.providers.anthropic",
    "llmdeck.gateway.providers.local",
    "llmdeck.guards.builtins",
)


def _manager(extra: Iterable[object] = ()) -> pluggy.PluginManager:
    manager = pluggy.PluginManager("llmdeck")
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    manager.load_setuptools_entrypoints("llmdeck")
    for plugin in extra:
        manager.register(plugin)
    return manager


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with built-ins and installed plugins."""
    return _manager()
