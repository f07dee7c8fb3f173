"""Who may call the management API: any valid key reads, the admin key changes state. One
small dependency that every capability's routes take, so they need not import the gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from llmdeck.errors import Forbidden
from llmdeck.gateway.auth import Authenticator, bearer
from llmdeck.gateway.call import Principal

Guard = Callable[[Request, bool], Awaitable[Principal]]
"""`await guard(request, admin)`: the caller's principal; 401 without a valid key, 403 when
`admin` is asked for and the key is not the admin key."""


def make_guard(auth: Authenticator) -> Guard:
    """The Guard over the gateway's authenticator (open servers let everyone in)."""

    async def guard(request: Request, admin: bool) -> Principal:
        principal = await auth.authenticate(bearer(request.headers.get("authorization")))
        if admin and not principal.admin:
            raise Forbidden(
                f"{request.method} {request.url.path} needs the admin key", code="admin_required"
            )
        return principal

    return guard
