"""Authentication: who is calling. The admin key, virtual keys (through a resolver), or, on a
server with no keys at all, anyone on loopback."""

from __future__ import annotations

import hmac
from typing import Protocol

from llmdeck.errors import Unauthorized
from llmdeck.gateway.call import OPEN, Principal

ADMIN = Principal(key_id="admin", name="admin", admin=True)


class KeyResolver(Protocol):
    """Looks up virtual keys."""

    @property
    def enabled(self) -> bool:
        """Whether any virtual key exists (so that requests must carry one)."""
        ...

    async def resolve(self, secret: str) -> Principal | None:
        """The principal for a presented key, or None if it is unknown, revoked or expired."""
        ...


class Authenticator:
    """Turns the presented credential into a Principal, or raises Unauthorized."""

    def __init__(self, admin_key: str | None, keys: KeyResolver | None = None) -> None:
        self.admin_key = admin_key
        self.keys = keys

    @property
    def open(self) -> bool:
        """True when no key of any kind is configured: every caller is let in."""
        return self.admin_key is None and (self.keys is None or not self.keys.enabled)

    async def authenticate(self, secret: str | None) -> Principal:
        """The principal behind `secret` (a bearer token or x-api-key value)."""
        if self.open:
            return OPEN
        if not secret:
            raise Unauthorized(
                "missing API key: send 'Authorization: Bearer <key>'", code="missing_api_key"
            )
        if self.admin_key is not None and hmac.compare_digest(secret, self.admin_key):
            return ADMIN
        if self.keys is not None:
            principal = await self.keys.resolve(secret)
            if principal is not None:
                return principal
        raise Unauthorized("invalid API key", code="invalid_api_key")


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
