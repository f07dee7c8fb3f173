"""Controls: everything that decides who may spend what, built once per gateway.

The shared state (in-process or Redis), the in-memory key ring, key management, rate limits for
keys and deployments, budgets, prices and the spend roll-up. The limits and cost stages use it;
the server mounts its management routes and its readiness check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from llmdeck.config import ModelAlias, Price, Settings
from llmdeck.gateway.keys.admin import KeyAdmin
from llmdeck.gateway.keys.ring import KeyRing
from llmdeck.gateway.limits.budgets import Budgets
from llmdeck.gateway.limits.deployments import DeploymentLimits
from llmdeck.gateway.limits.events import record_limit_event
from llmdeck.gateway.limits.rates import RateLimiter
from llmdeck.gateway.spend import PriceBook, SpendLedger
from llmdeck.gateway.state import ResilientState, StateBackend, open_state
from llmdeck.store import Store

log = logging.getLogger(__name__)


class Controls:
    """Keys, limits, budgets, prices and spend for one gateway process."""

    def __init__(
        self, settings: Settings, store: Store, *, state: StateBackend | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.state: StateBackend = state if state is not None else open_state(settings)
        limits = settings.limits
        self.ring = KeyRing(store, self.state, refresh=limits.key_refresh)
        self.admin = KeyAdmin(
            store, notify=self.ring.changed, models=[m.name for m in settings.models]
        )
        self.ledger = SpendLedger(store, interval=limits.spend_flush)
        self.prices = PriceBook()
        self.rates = RateLimiter(self.state, limits.window)
        self.budgets = Budgets(self.state, limits, seed=self.ledger.spent_since, event=self._event)
        self.deployments = DeploymentLimits(self.rates, self.spawn)
        self._tasks: set[asyncio.Task[None]] = set()
        if isinstance(self.state, ResilientState):
            self.state.on_change(self._state_changed)

    def deployment_available(self, name: str) -> bool:
        """For routers: False while deployment `name` is over its own rpm or tpm (no I/O)."""
        return self.deployments.available(name)

    def alias_prices(self, alias: ModelAlias) -> list[Price]:
        """The known prices of every deployment that may serve `alias` (tiers included)."""
        aliases = [alias]
        for target in (alias.tiers or {}).values():
            found = self.settings.alias(target)
            if found is not None:
                aliases.append(found)
        prices = [self.prices.price_of(d) for a in aliases for d in a.deployments]
        return [p for p in prices if p is not None]

    async def start(self) -> None:
        """Connect the state, load the keys, start the spend writer."""
        await self.state.start()
        await self.ring.start()
        await self.ledger.start()
        unpriced = [
            d.name
            for alias in self.settings.models
            for d in alias.deployments
            if self.prices.price_of(d) is None
        ]
        if unpriced:
            log.warning(
                "no price for %s: set `price` on them, or their calls cost nothing to budgets",
                ", ".join(unpriced),
            )

    async def close(self) -> None:
        """Finish settling, write the spend, disconnect."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        await self.ledger.close()
        await self.ring.close()
        await self.state.close()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background (settling after a call ends), kept until done."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background settle failed", exc_info=task.exception())

    async def _event(self, name: str, message: str, attributes: dict[str, Any]) -> None:
        await record_limit_event(self.store, name, message, **attributes)

    def _state_changed(self, shared: bool, reason: str) -> None:
        name = "state.restored" if shared else "state.degraded"
        message = (
            "redis is reachable again: limits and budgets are shared"
            if shared
            else f"redis unreachable ({reason}): limits and budgets enforced per replica"
        )
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to record it with
            self.spawn(
                record_limit_event(self.store, name, message, level="info" if shared else "warning")
            )

    async def health(self) -> dict[str, Any]:
        """The readiness of shared state, keys and the spend writer."""
        status = self.state.status()
        status["keys"] = len(self.ring)
        status["key_revision"] = self.ring.revision
        status["spend_write_failures"] = self.ledger.failures
        return status
