"""Virtual keys: created by an admin, shown once, stored as a SHA-256 hash, resolved from memory
on the hot path, revoked on every replica within a second."""

from llmdeck.gateway.keys.admin import KeyAdmin
from llmdeck.gateway.keys.audit import AuditEntry
from llmdeck.gateway.keys.model import (
    PERIODS,
    KeyChanges,
    KeyRecord,
    KeySpec,
    Period,
    parse_expiry,
)
from llmdeck.gateway.keys.ring import CHANNEL, KeyRing
from llmdeck.gateway.keys.secret import PREFIX, hash_secret

__all__ = [
    "CHANNEL",
    "PERIODS",
    "PREFIX",
    "AuditEntry",
    "KeyAdmin",
    "KeyChanges",
    "KeyRecord",
    "KeyRing",
    "KeySpec",
    "Period",
    "hash_secret",
    "parse_expiry",
]
