"""Every environment variable llmdeck reads, in one place. Read only by `load_settings`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    """A documented environment variable."""

    name: str
    help: str


LLMDECK_CONFIG = EnvVar("LLMDECK_CONFIG", "Path of the llmdeck.yaml to load.")
LLMDECK_HOME = EnvVar(
    "LLMDECK_HOME", "Folder for embedded state: SQLite, vectors, models (default ./.llmdeck)."
)
LLMDECK_DATABASE_URL = EnvVar(
    "LLMDECK_DATABASE_URL", "SQLAlchemy-style URL of the database; PostgreSQL for scale-out."
)
LLMDECK_REDIS_URL = EnvVar(
    "LLMDECK_REDIS_URL",
    "Redis URL for state shared by replicas (limits, budgets, cache, circuits).",
)
LLMDECK_ADMIN_KEY = EnvVar("LLMDECK_ADMIN_KEY", "The admin key; required to serve off loopback.")
LLMDECK_URL = EnvVar(
    "LLMDECK_URL", "Where the SDK, `llmdeck.client` and `llmdeck traces` reach the server."
)
LLMDECK_API_KEY = EnvVar("LLMDECK_API_KEY", "The key the SDK and `llmdeck.client` send.")

ALL: tuple[EnvVar, ...] = (
    LLMDECK_CONFIG,
    LLMDECK_HOME,
    LLMDECK_DATABASE_URL,
    LLMDECK_REDIS_URL,
    LLMDECK_ADMIN_KEY,
    LLMDECK_URL,
    LLMDECK_API_KEY,
)
