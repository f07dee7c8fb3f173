"""The jobs seam: `enqueue(kind, payload)` and a registry of handlers, whatever runs them.

A job is a `kind` (a dotted name such as `batch.run`) and a JSON payload. Delivery is at least
once: a job whose process dies mid-run is run again, so a handler must be idempotent (do nothing
harmful when its work, or part of it, is already done). A handler that raises is tried again
after an exponential backoff, up to `jobs.max_attempts` tries, then the job is marked failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery of a job to its handler."""

    kind: str
    payload: Mapping[str, Any]
    id: str
    attempt: int
    """1 on the first try."""


Handler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class QueueCount:
    """How many jobs of one kind are in one status (`todo`, `doing`, `failed`, ...)."""

    kind: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class StalledJob:
    """A job still marked running whose worker stopped sending heartbeats."""

    id: str
    kind: str
    attempt: int


class UnknownJobKind(LookupError):
    """A job of a kind no handler is registered for (a worker of another version?)."""


class Registry:
    """Handlers by kind, and the periodic kinds with their intervals."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.periodic: dict[str, float] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """Run `handler` for jobs of `kind` (one handler per kind)."""
        if kind in self.handlers and self.handlers[kind] is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self.handlers[kind] = handler

    def every(self, kind: str, interval: float) -> None:
        """Enqueue a `kind` job (empty payload) every `interval` seconds, at most one waiting."""
        if interval <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self.periodic[kind] = interval

    def handler(self, kind: str) -> Handler:
        """The handler of `kind`."""
        try:
            return self.handlers[kind]
        except KeyError:
            raise UnknownJobKind(f"no handler for job kind {kind!r}") from None


class Jobs(Protocol):
    """A job queue: in-process (`local`) or shared by every process (`postgres`)."""

    backend: str
    """"local" or "postgres"."""

    shared: bool
    """Whether jobs enqueued here may run in another process (a worker)."""

    registry: Registry

    def register(self, kind: str, handler: Handler) -> None:
        """Run `handler` for jobs of `kind` in the processes that work the queue."""
        ...

    def every(self, kind: str, interval: float) -> None:
        """Run a `kind` job every `interval` seconds (at most one waiting at a time)."""
        ...

    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        dedupe: str | None = None,
        lock: str | None = None,
    ) -> bool:
        """Queue a job to run after `delay` seconds. `dedupe`: skip (return False) if a job
        with this key is still waiting to start. `lock`: jobs with the same lock never run at
        the same time."""
        ...

    async def start(self, *, work: bool) -> None:
        """Connect; with `work`, also take and run jobs in this process."""
        ...

    async def close(self) -> None:
        """Stop taking jobs, let running ones finish (up to `drain_timeout`), disconnect."""
        ...

    async def counts(self) -> list[QueueCount]:
        """Jobs by kind and status."""
        ...

    async def stalled(self) -> list[StalledJob]:
        """Jobs marked running whose worker has gone silent (not yet taken back)."""
        ...

    def status(self) -> dict[str, Any]:
        """What /health/ready shows."""
        ...
