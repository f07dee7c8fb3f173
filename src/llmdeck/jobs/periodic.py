"""Periodic jobs: every working process enqueues each periodic kind at its interval, with a
dedupe key, so however many processes there are, at most one such job waits at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from llmdeck.jobs.base import Registry

log = logging.getLogger("llmdeck.jobs")

Enqueue = Callable[..., Awaitable[bool]]


class Ticker:
    """Enqueues the registry's periodic kinds: once at start, then at each interval."""

    def __init__(self, registry: Registry, enqueue: Enqueue) -> None:
        self.registry = registry
        self.enqueue = enqueue
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """One loop per periodic kind."""
        for kind, interval in self.registry.periodic.items():
            self._tasks.append(asyncio.create_task(self._tick(kind, interval), name=kind))

    async def _tick(self, kind: str, interval: float) -> None:
        empty: Mapping[str, Any] = {}
        while True:
            try:
                await self.enqueue(kind, empty, dedupe=f"every:{kind}")
            except Exception:  # the database may be away for a moment; try at the next tick
                log.warning("could not enqueue periodic job %s", kind, exc_info=True)
            await asyncio.sleep(interval)

    async def close(self) -> None:
        """Stop ticking."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
