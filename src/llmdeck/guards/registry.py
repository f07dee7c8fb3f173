"""Detectors by name, from every plugin's `register_detectors` hook (built-ins included)."""

from __future__ import annotations

from functools import cache
from typing import Any

from llmdeck.guards.base import Detector, DetectorContext, DetectorFactory


@cache
def detector_factories() -> dict[str, DetectorFactory]:
    """Every registered detector factory by name."""
    from llmdeck.plugins import get_plugin_manager

    found: dict[str, DetectorFactory] = {}

    def register(name: str, factory: Any) -> None:
        found[name] = factory

    get_plugin_manager().hook.register_detectors(register=register)
    return found


class UnknownDetector(ValueError):
    """No detector is registered under this name."""


def build_detector(
    name: str, options: dict[str, Any] | None = None, context: DetectorContext | None = None
) -> Detector:
    """A detector from its registered factory. Raises UnknownDetector, or ValueError naming a
    bad option."""
    factories = detector_factories()
    factory = factories.get(name)
    if factory is None:
        known = ", ".join(sorted(factories))
        raise UnknownDetector(f"unknown detector {name!r}; known: {known}")
    return factory(dict(options or {}), context or DetectorContext())
