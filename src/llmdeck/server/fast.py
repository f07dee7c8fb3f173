"""The application class: Starlette, with the gateway's POST endpoints served before its
middleware stack and router.

Those endpoints carry every LLM call. Through Starlette each request passes two exception
middlewares, the router (a regex per route until one matches) and the route's own exception
wrapper, and each message sent back passes three `send` wrappers; together about a tenth of a
call's CPU. Here a dict lookup finds the endpoint, and errors are rendered by the same handlers
(server/errors.py) with the same outcome: an ApiError becomes its error body; anything else the
500 body, and is raised again for the server to log and close the connection, as Starlette does.
Everything else (other methods and paths, lifespan, refused hosts) goes through Starlette.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from llmdeck.server.errors import HANDLERS, on_unexpected
from llmdeck.server.hosts import loopback_host

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class App(Starlette):
    """A Starlette app whose plain POST routes among `fast` skip the middleware and router."""

    def __init__(self, *, fast: Sequence[BaseRoute], loopback_only: bool, **options: Any) -> None:
        super().__init__(**options)
        self.fast: dict[str, Endpoint] = {
            route.path: route.endpoint
            for route in fast
            if isinstance(route, Route) and route.methods == {"POST"} and not route.param_convertors
        }
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast.get(scope["path"])
        if endpoint is None or (self.loopback_only and not loopback_host(scope)):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = _handler_for(exc)
            await (await handler(request, exc))(scope, receive, send)
            if handler is on_unexpected:
                raise
            return
        await response(scope, receive, send)


def _handler_for(exc: Exception) -> Handler:
    for kind in type(exc).__mro__:
        handler = HANDLERS.get(kind)
        if handler is not None:
            return handler
    return on_unexpected
