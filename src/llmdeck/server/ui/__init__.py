"""The web UI: server-rendered page shells and plain static JavaScript and CSS (no build step,
nothing fetched from elsewhere) that read the JSON API with a signed-in session."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from llmdeck.config import Settings
from llmdeck.gateway import Gateway
from llmdeck.server.ui.chat import chat_routes
from llmdeck.server.ui.middleware import SessionMiddleware
from llmdeck.server.ui.session import Session, Sessions
from llmdeck.server.ui.views import Views


def ui_routes(
    settings: Settings, gateway: Gateway, features: Callable[[], dict[str, bool]]
) -> tuple[list[BaseRoute], Sessions]:
    """The UI's routes, and the sessions its middleware reads."""
    sessions = Sessions(settings, gateway.auth, gateway.controls.ring.get)
    views = Views(sessions, gateway.auth, features)
    return [*views.routes(), *chat_routes(gateway)], sessions


__all__ = ["Session", "SessionMiddleware", "Sessions", "ui_routes"]
