"""Key secrets: 256 random bits behind a recognisable prefix, stored only as their SHA-256.

A salt adds nothing to a secret with this much entropy (no dictionary to precompute), and a plain
hash keeps the lookup on the hot path one dictionary access.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "ldk-"
"""Every llmdeck key starts with this, so secret scanners and people can recognise one."""


def new_secret() -> str:
    """A new key secret: `ldk-` and 43 URL-safe characters (32 random bytes)."""
    return PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    """A key's public id."""
    return "key_" + secrets.token_hex(6)


def hash_secret(secret: str) -> str:
    """What is stored and looked up: the hex SHA-256 of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hint(secret: str) -> str:
    """Enough of the secret to tell keys apart in a list: `ldk-AbCd...wXyZ`."""
    return f"{secret[:8]}...{secret[-4:]}"
