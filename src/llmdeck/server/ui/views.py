"""The web UI's pages: each is a server-rendered shell (layout, navigation, the signed-in user,
the CSRF token) whose script reads the JSON API (`/api/...`) with the session cookie.

Sign-in takes the admin key, or a virtual key with UI access; on a server with no keys at all
(loopback only) the UI opens without one, like the API does.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from llmdeck import __version__
from llmdeck.errors import ApiError
from llmdeck.gateway.auth import Authenticator
from llmdeck.gateway.call import OPEN
from llmdeck.server.access import UI_SESSION
from llmdeck.server.ui.session import COOKIE, Session, Sessions

HERE = Path(__file__).parent
STATIC = HERE / "static"
LOGIN_COOKIE = "llmdeck_login"
SECURITY_HEADERS = {
    # Everything comes from this server: a page cannot load or send anything elsewhere.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
PAGES: list[tuple[str, str, str]] = [
    # (path, page name, title); the page's script is static/js/pages/<name>.js
    ("/ui/", "overview", "Overview"),
    ("/ui/traces", "traces", "Traces"),
    ("/ui/traces/{trace_id}", "trace", "Trace"),
    ("/ui/prompts", "prompts", "Prompts"),
    ("/ui/prompts/{name}", "prompt", "Prompt"),
    ("/ui/playground", "playground", "Playground"),
    ("/ui/gateway", "gateway", "Gateway"),
    ("/ui/collections", "collections", "Collections"),
    ("/ui/collections/{name}", "collection", "Collection"),
    ("/ui/datasets", "datasets", "Datasets"),
    ("/ui/experiments", "experiments", "Experiments"),
    ("/ui/rag", "rag", "RAG"),
]
NAV = [
    ("overview", "/ui/", "Overview"),
    ("traces", "/ui/traces", "Traces"),
    ("prompts", "/ui/prompts", "Prompts"),
    ("playground", "/ui/playground", "Playground"),
    ("gateway", "/ui/gateway", "Gateway"),
    ("collections", "/ui/collections", "Collections"),
]
SECTION = {"trace": "traces", "prompt": "prompts", "collection": "collections"}


def asset_version() -> str:
    """A hash of the static files: part of their URLs, so browsers cache them for good."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class ImmutableFiles(StaticFiles):
    """Static files under a versioned path: cached by the browser until the version changes."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        response.headers["x-content-type-options"] = "nosniff"
        return response


class Views:
    """The page handlers over one server's sessions."""

    def __init__(
        self, sessions: Sessions, auth: Authenticator, features: Callable[[], dict[str, bool]]
    ) -> None:
        self.sessions = sessions
        self.auth = auth
        self.features = features
        self.version = asset_version()
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A template as an HTML response with the UI's security headers."""
        html = self.templates.get_template(name).render(static=self.static, **context)
        return HTMLResponse(html, status, headers=SECURITY_HEADERS)

    @property
    def static(self) -> str:
        """The versioned URL prefix of the static files."""
        return f"/ui/static/{self.version}"

    def page(self, name: str, title: str) -> Callable[[Request], Awaitable[Response]]:
        """The handler of one page."""

        async def handler(request: Request) -> Response:
            session, cookie = self._session(request)
            if session is None:
                target = quote(
                    request.url.path + ("?" + request.url.query if request.url.query else "")
                )
                return RedirectResponse(f"/ui/login?next={target}", 303)
            response = self.render(
                "page.html",
                page=name,
                title=title,
                section=SECTION.get(name, name),
                nav=self._nav(),
                session=session,
                params=request.path_params,
                features=self.features(),
            )
            if cookie:
                self._set_cookie(response, request, cookie)
            return response

        return handler

    def _nav(self) -> list[tuple[str, str, str]]:
        features = self.features()
        extra = [("datasets", "/ui/datasets", "Datasets")] if features.get("datasets") else []
        if features.get("experiments"):
            extra.append(("experiments", "/ui/experiments", "Experiments"))
        if features.get("rag"):
            extra.append(("rag", "/ui/rag", "RAG"))
        return NAV + extra

    def _session(self, request: Request) -> tuple[Session | None, str | None]:
        """The request's session; on an open server one is made (with its new cookie)."""
        found = request.scope.get("state", {}).get(UI_SESSION)
        if isinstance(found, Session):
            return found, None
        if not self.auth.open:
            return None, None
        cookie = self.sessions.issue(OPEN)
        return self.sessions.read(cookie), cookie

    async def login_form(self, request: Request) -> Response:
        if self.auth.open:
            return RedirectResponse(_next(request.query_params.get("next")), 303)
        return self._login_page(request, None, 200, request.query_params.get("next"))

    def _login_page(
        self, request: Request, error: str | None, status: int, after: str | None
    ) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = self.render(
            "login.html", status, title="Sign in", nonce=nonce, error=error, next=_next(after)
        )
        response.set_cookie(
            LOGIN_COOKIE, nonce, max_age=1800, path="/ui/login", httponly=True,
            samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form()
        after = str(form.get("next") or "")
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        given = str(form.get("nonce") or "")
        if not nonce or not secrets.compare_digest(nonce, given):
            return self._login_page(request, "The sign-in form expired; try again.", 400, after)
        key = str(form.get("key") or "").strip()
        try:
            principal = await self.auth.authenticate(key or None)
            cookie = self.sessions.issue(principal)
        except ApiError as exc:
            return self._login_page(request, exc.message, exc.status, after)
        response = RedirectResponse(_next(after), 303)
        self._set_cookie(response, request, cookie)
        response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
        return response

    async def logout(self, request: Request) -> Response:
        session = request.scope.get("state", {}).get(UI_SESSION)
        form = await request.form()
        if isinstance(session, Session) and not secrets.compare_digest(
            session.csrf, str(form.get("csrf") or "")
        ):
            return HTMLResponse("missing or wrong CSRF token", 403, headers=SECURITY_HEADERS)
        response = RedirectResponse("/ui/login", 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    def _set_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            COOKIE, value, max_age=int(self.sessions.ttl), path="/", httponly=True,
            samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip

    def routes(self) -> list[BaseRoute]:
        """Every UI route."""

        async def home(request: Request) -> Response:
            return RedirectResponse("/ui/", 307)

        table: list[BaseRoute] = [
            Route("/ui", home, methods=["GET"]),
            Route("/ui/login", self.login_form, methods=["GET"]),
            Route("/ui/login", self.login, methods=["POST"]),
            Route("/ui/logout", self.logout, methods=["POST"]),
            Mount(self.static, ImmutableFiles(directory=STATIC), name="ui-static"),
        ]
        for path, name, title in PAGES:
            table.append(Route(path, self.page(name, title), methods=["GET"]))
        return table


def _next(value: str | None) -> str:
    """Where to go after signing in: a UI page of this server, never elsewhere."""
    if value and value.startswith("/ui/") and not value.startswith("//"):
        return value
    return "/ui/"
