"""The UI session as a credential: a request that carries a valid session cookie and no API key
acts as the signed-in principal; an unsafe one must also carry the session's CSRF token.

Only requests without `Authorization`/`x-api-key` are looked at, so API clients with bearer keys
are untouched. The principal is left in the request state (`access.UI_PRINCIPAL`), where the
server's guards find it.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from llmdeck.errors import Forbidden
from llmdeck.server.access import UI_PRINCIPAL, UI_SESSION
from llmdeck.server.errors import error_response
from llmdeck.server.ui.session import COOKIE, SAFE_METHODS, Session, Sessions, csrf_matches

CSRF_HEADER = b"x-csrf-token"
FORM_POSTS = frozenset({"/ui/login", "/ui/logout"})
"""Forms that check their own token (a form cannot send a header)."""


class SessionMiddleware:
    """Resolves the UI session cookie of each request; refuses unsafe ones without the token."""

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        cookie = headers.get(b"cookie")
        if cookie and COOKIE.encode() in cookie and not _has_key(headers):
            session = self._session(cookie.decode("latin-1"))
            if session is not None:
                method = scope["method"]
                if method not in SAFE_METHODS and scope["path"] not in FORM_POSTS:
                    problem = _refusal(session, headers)
                    if problem:
                        await error_response(Forbidden(problem, code="csrf_failed"), "")(
                            scope, receive, send
                        )
                        return
                state = scope.setdefault("state", {})
                state[UI_SESSION] = session
                state[UI_PRINCIPAL] = session.principal_for(method)
        await self.app(scope, receive, send)

    def _session(self, header: str) -> Session | None:
        try:
            morsel = SimpleCookie(header).get(COOKIE)
        except CookieError:
            return None
        return self.sessions.read(morsel.value) if morsel is not None else None


def _has_key(headers: dict[bytes, bytes]) -> bool:
    return b"authorization" in headers or b"x-api-key" in headers


def _refusal(session: Session, headers: dict[bytes, bytes]) -> str | None:
    """Why an unsafe request of this session is refused, if it is."""
    token = headers.get(CSRF_HEADER)
    if not csrf_matches(session, token.decode("latin-1") if token else None):
        return "missing or wrong CSRF token: send the page's token in x-csrf-token"
    origin = headers.get(b"origin")
    if origin:
        # This server, by the name the browser used (a proxy may pass it as X-Forwarded-Host)
        names = {headers.get(b"host"), headers.get(b"x-forwarded-host")}
        if urlsplit(origin.decode("latin-1")).netloc.encode("latin-1") not in names:
            return "cross-origin request refused"
    return None
