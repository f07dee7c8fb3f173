"""Where an unauthenticated server may listen, and which Host headers it answers.

With no keys configured, llmdeck serves only on loopback, and answers only requests addressed
to a loopback name, so a web page cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import ipaddress

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from llmdeck.errors import ConfigError, Problem

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback name or address."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, open_access: bool, insecure: bool) -> None:
    """Refuse to listen beyond loopback with no keys, unless told --insecure."""
    if open_access and not is_loopback(host) and not insecure:
        raise ConfigError(
            [
                Problem(
                    "server.host",
                    f"refusing to serve on {host} with no keys: set LLMDECK_ADMIN_KEY, "
                    "or pass --insecure to allow anyone who can reach it",
                )
            ]
        )


class LoopbackHostMiddleware:
    """Answers 421 to requests whose Host header is not a loopback name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not loopback_host(scope):
            host = _host_header(scope)
            response = PlainTextResponse(
                f"Host {host!r} refused: this server has no keys and answers loopback only", 421
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def loopback_host(scope: Scope) -> bool:
    """Whether the request's Host header (if any) names a loopback host."""
    host = _host_header(scope)
    return host is None or is_loopback(host)


def _host_header(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host: str = value.decode("latin-1")
            if host.startswith("["):
                return host[: host.index("]") + 1] if "]" in host else host
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return None
