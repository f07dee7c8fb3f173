"""Sign-in sessions of the web UI: signed cookies that name who signed in, with a CSRF token.

A session cookie holds the subject (`admin`, `open`, or a virtual key's id), a random CSRF token
and the sign-in time, signed with HMAC (itsdangerous). Nothing secret is in it. Every request
checks the signature and the age (the expiry is enforced here, not by the browser), then looks
the subject up again: an admin session ends when the admin key changes, a key's session when the
key is revoked, expires or loses its `ui` flag, an open session once any key exists.

Roles: the admin key (and anyone on an open loopback server) may do everything; a virtual key
with `ui` may look at everything and act only as itself (its own calls, scores, searches).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from llmdeck.config import Settings
from llmdeck.errors import Forbidden
from llmdeck.gateway.auth import Authenticator
from llmdeck.gateway.call import OPEN, Principal
from llmdeck.gateway.keys import KeyRecord

COOKIE = "llmdeck_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Role = Literal["admin", "viewer"]
UI_ADMIN = Principal(key_id="admin", name="ui:admin", admin=True)


@dataclass(frozen=True)
class Session:
    """Who is signed in, and the CSRF token their pages send back."""

    subject: str
    name: str
    role: Role
    csrf: str
    principal: Principal

    def principal_for(self, method: str) -> Principal:
        """The principal a request acts as: a viewer reads as an admin, acts as itself."""
        if self.role == "viewer" and method in SAFE_METHODS:
            return replace(self.principal, admin=True)
        return self.principal


KeyLookup = Callable[[str], KeyRecord | None]
"""Finds a virtual key by id (the gateway's in-memory key ring)."""


class Sessions:
    """Issues and reads session cookies for one server."""

    def __init__(self, settings: Settings, auth: Authenticator, keys: KeyLookup) -> None:
        self.auth = auth
        self.keys = keys
        self.ttl = settings.ui.session_ttl
        self._signer = URLSafeTimedSerializer(_secret(settings), salt="llmdeck-ui-session")

    def issue(self, principal: Principal) -> str:
        """A cookie value for a principal that just signed in (Forbidden if it may not)."""
        if principal is OPEN:
            subject = "open"
        elif principal.admin:
            subject = "admin"
        else:
            record = self.keys(principal.key_id or "")
            if record is None or not record.ui:
                raise Forbidden(
                    "this key may not sign in to the UI: sign in with the admin key, or give "
                    "the key UI access (llmdeck keys update NAME --ui)",
                    code="ui_not_allowed",
                )
            subject = record.id
        payload = {"s": subject, "c": secrets.token_urlsafe(24), "f": self._fingerprint()}
        return self._signer.dumps(payload)

    def read(self, cookie: str) -> Session | None:
        """The live session a cookie names; None if it is forged, too old, or its subject may no
        longer sign in."""
        try:
            payload = self._signer.loads(cookie, max_age=int(self.ttl))
        except BadSignature:  # also SignatureExpired: the age is checked here
            return None
        if not isinstance(payload, dict):
            return None
        subject, csrf = payload.get("s"), payload.get("c")
        if not isinstance(subject, str) or not isinstance(csrf, str):
            return None
        return self._resolve(subject, csrf, payload.get("f"))

    def _resolve(self, subject: str, csrf: str, fingerprint: Any) -> Session | None:
        if subject == "open":
            return Session("open", "open", "admin", csrf, OPEN) if self.auth.open else None
        if subject == "admin":
            valid = self.auth.admin_key is not None and fingerprint == self._fingerprint()
            return Session("admin", "admin", "admin", csrf, UI_ADMIN) if valid else None
        record = self.keys(subject)
        if record is None or not record.ui or record.status != "active":
            return None
        return Session(record.id, record.name, "viewer", csrf, record.principal)

    def _fingerprint(self) -> str:
        """Names the admin key in force, so that changing it ends every admin session."""
        key = self.auth.admin_key
        return hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""


def csrf_matches(session: Session, token: str | None) -> bool:
    """Whether `token` is the session's CSRF token (in constant time)."""
    return bool(token) and hmac.compare_digest(session.csrf.encode(), (token or "").encode())


def _secret(settings: Settings) -> str:
    """The signing secret: configured, else derived from the admin key, else kept in `home`."""
    if settings.ui.session_secret is not None:
        return settings.ui.session_secret.get_secret_value()
    if settings.admin_key is not None:
        key = settings.admin_key.get_secret_value().encode()
        return hmac.new(key, b"llmdeck ui session v1", hashlib.sha256).hexdigest()
    return _home_secret(Path(settings.home) / "ui-session.key")


def _home_secret(path: Path) -> str:
    """A random secret in `path`, made once (readable by its owner only), shared by the
    server processes of this machine."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
