"""The built-in detectors, registered through the same hook as third-party ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmdeck.guards.grounded import make_grounded
from llmdeck.guards.injection import make_indirect, make_injection
from llmdeck.guards.output import make_banned, make_json, make_length
from llmdeck.guards.pii.detector import make_pii, make_secrets
from llmdeck.hookspecs import hookimpl


@hookimpl
def register_detectors(register: Callable[[str, Any], None]) -> None:
    """injection, indirect_injection, pii, secrets, grounded, json, banned, length."""
    register("injection", make_injection)
    register("indirect_injection", make_indirect)
    register("pii", make_pii)
    register("secrets", make_secrets)
    register("grounded", make_grounded)
    register("json", make_json)
    register("banned", make_banned)
    register("length", make_length)
