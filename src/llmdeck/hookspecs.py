"""Plugin hooks. Each receives a `register` callback; built-ins use the same hooks (plugins.py).

A plugin is a module or object with `@hookimpl` functions, installed under the
`llmdeck` entry-point group or passed to `plugins.get_plugin_manager(extra=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("llmdeck")
hookimpl = pluggy.HookimplMarker("llmdeck")


@hookspec
def register_providers(register: Callable[[str, Any], None]) -> None:
    """Register provider factories: `register(name, factory)`, where
    `factory(deployment, context) -> Provider` (see `llmdeck.gateway.providers.base`)."""


@hookspec
def register_detectors(register: Callable[[str, Any], None]) -> None:
    """Register guard detector factories: `register(name, factory)`, where
    `factory(options, context) -> Detector` (see `llmdeck.guards.base`)."""
