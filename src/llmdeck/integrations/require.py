"""Optional frameworks: import them with an error that says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or raise ImportError naming the llmdeck extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is not installed: llmdeck's {extra} integration needs it. "
            f"Install it with: pip install 'llmdeck[{extra}]'"
        ) from exc
