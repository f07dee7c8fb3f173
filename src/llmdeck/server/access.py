"""Who may use the management and ingest routes: one guard, wrapped around routes by the server.

With keys configured, `/api/*` needs the admin key, while routes meant for applications (trace
ingest, feedback scores) take any valid key. On a server with no keys, everyone on loopback may.
A signed-in web UI session (server/ui/) counts as a credential too: the UI's session middleware
leaves its principal in the request state (`UI_PRINCIPAL`) after checking the cookie, and the
CSRF token of unsafe requests. The principal is left in `request.state.principal` for the route.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from llmdeck.errors import ApiError, Forbidden
from llmdeck.gateway.auth import Authenticator, bearer
from llmdeck.gateway.call import Principal
from llmdeck.server.errors import error_response

UI_SESSION = "ui_session"
UI_PRINCIPAL = "ui_principal"


def _secret(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or ())
    api_key = headers.get(b"x-api-key")
    if api_key:
        return str(api_key.decode("latin-1"))
    authorization = headers.get(b"authorization")
    return bearer(authorization.decode("latin-1") if authorization else None)


async def principal_of(scope: Scope, auth: Authenticator) -> Principal:
    """Who sent the request: its API key, else its UI session, else (open servers) anyone."""
    secret = _secret(scope)
    if secret is None:
        principal = (scope.get("state") or {}).get(UI_PRINCIPAL)
        if isinstance(principal, Principal):
            return principal
    return await auth.authenticate(secret)


class Guard:
    """ASGI wrapper that authenticates before the wrapped route runs."""

    def __init__(self, app: ASGIApp, auth: Authenticator, *, admin: bool) -> None:
        self.app = app
        self.auth = auth
        self.admin = admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                principal = await principal_of(scope, self.auth)
                if self.admin and not principal.admin:
                    raise Forbidden("this route needs the admin key", code="admin_required")
            except ApiError as exc:
                await error_response(exc, scope["path"])(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def guard(routes: Sequence[BaseRoute], auth: Authenticator, *, admin: bool) -> list[BaseRoute]:
    """`routes`, each behind the guard (admin key, or any key when `admin` is False)."""
    for route in routes:
        if isinstance(route, Route | Mount):
            route.app = Guard(route.app, auth, admin=admin)
    return list(routes)
