"""Budgets in USD per key, per day, month or in total, that hold under concurrency.

At admission each request reserves its worst-case cost (`estimate.worst_cost`) atomically in the
shared state: a reservation succeeds only if spent + reserved + this request fits the budget, so
a burst across replicas cannot overspend. When the call ends the reservation is replaced by the
real cost. A budget the state does not hold yet (first use this period, Redis restarted, process
restarted) is seeded from the spend roll-up in the database.

Crossing `budget_warn_at` of a budget records a `budget.warning` event, and spending it all a
`budget.exhausted` event, once per key and period across replicas.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmdeck.config import LimitsSettings
from llmdeck.errors import RateLimited
from llmdeck.gateway.keys.model import KeyRecord
from llmdeck.gateway.limits import periods
from llmdeck.gateway.state import BudgetState, StateBackend
from llmdeck.gateway.state.base import EPSILON

Seed = Callable[[str, str], Awaitable[float]]
Event = Callable[[str, str, dict[str, Any]], Awaitable[None]]
NO_RESET_RETRY = 3600.0
"""Retry-After for a spent total budget: it never resets, but an admin may raise it."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation to settle when the call ends."""

    record: KeyRecord
    key: str
    lease: str
    amount: float
    span: periods.Span


class Budgets:
    """Reserve and settle key budgets in the shared state."""

    def __init__(
        self,
        state: StateBackend,
        settings: LimitsSettings,
        *,
        seed: Seed,
        event: Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.settings = settings
        self.seed = seed
        self.event = event
        self.clock = clock
        self._spent_out: dict[str, tuple[str, float]] = {}
        self._told: set[tuple[str, str, str]] = set()

    def state_key(self, record: KeyRecord, span: periods.Span) -> str:
        """Where a key's budget for one period lives in the state."""
        return f"budget:{{{record.id}}}:{span.id}"

    def spent_out(self, record: KeyRecord) -> RateLimited | None:
        """The refusal for a key already known to have spent this period's budget (no I/O)."""
        if record.budget is None or record.budget_period is None:
            return None
        memo = self._spent_out.get(record.id)
        span = periods.current(record.budget_period, self.clock())
        if memo is None or memo != (span.id, record.budget):
            return None
        return self._spent(record, span, record.budget)

    async def reserve(self, record: KeyRecord, amount: float) -> Hold | None:
        """Hold `amount` USD of the key's budget, or raise RateLimited (None: no budget)."""
        if record.budget is None or record.budget_period is None:
            return None
        span = periods.current(record.budget_period, self.clock())
        key = self.state_key(record, span)
        lease = os.urandom(8).hex()
        expire_at = span.ends_at + 86_400 if span.ends_at is not None else None
        options: dict[str, Any] = {"expire_at": expire_at, "lease_ttl": self.settings.lease_ttl}
        result = await self.state.reserve(key, lease, amount, record.budget, **options)
        if result.missing:
            seed = await self.seed(record.id, span.first_day)
            result = await self.state.reserve(
                key, lease, amount, record.budget, seed=seed, **options
            )
        if result.allowed:
            return Hold(record, key, lease, amount, span)
        if result.spent >= record.budget - EPSILON:
            self._spent_out[record.id] = (span.id, record.budget)
            raise self._spent(record, span, result.spent)
        raise self._short(record, span, amount, result.spent, result.held)

    async def settle(self, hold: Hold, cost: float) -> None:
        """Replace the reservation by the real cost; record a warning once it is due."""
        expire_at = hold.span.ends_at + 86_400 if hold.span.ends_at is not None else None
        state = await self.state.settle(hold.key, hold.lease, cost, expire_at=expire_at)
        if state is not None:
            await self._maybe_tell(hold, state)

    async def usage(self, record: KeyRecord) -> dict[str, Any] | None:
        """The key's budget now: limit, spent, held, remaining, when it resets."""
        if record.budget is None or record.budget_period is None:
            return None
        span = periods.current(record.budget_period, self.clock())
        state = await self.state.budget(self.state_key(record, span))
        if state is None:
            state = BudgetState(await self.seed(record.id, span.first_day), 0.0)
        return {
            "budget": record.budget,
            "period": record.budget_period,
            "spent": state.spent,
            "held": state.held,
            "remaining": max(0.0, record.budget - state.spent - state.held),
            "resets_at": span.ends_at,
        }

    async def _maybe_tell(self, hold: Hold, state: BudgetState) -> None:
        budget = hold.record.budget or 0.0
        if state.spent >= budget - EPSILON:
            await self._tell_once(hold, "budget.exhausted", state, "has spent")
        elif state.spent >= budget * self.settings.budget_warn_at:
            await self._tell_once(hold, "budget.warning", state, "has used")

    async def _tell_once(self, hold: Hold, name: str, state: BudgetState, verb: str) -> None:
        record = hold.record
        memo = (record.id, hold.span.id, name)
        if memo in self._told:
            return
        self._told.add(memo)
        flag = f"told:{{{record.id}}}:{hold.span.id}:{name}"
        ttl = (hold.span.ends_at - self.clock() + 86_400) if hold.span.ends_at else None
        if not await self.state.set(flag, b"1", ttl=ttl, only_new=True):
            return
        share = state.spent / (record.budget or 1.0)
        adjective = periods.ADJECTIVE[record.budget_period or "total"]
        message = (
            f"key {record.name!r} {verb} {share:.0%} of its ${record.budget:.2f} {adjective} "
            f"budget (${state.spent:.4f})"
        )
        attributes = {
            "key_id": record.id,
            "key_name": record.name,
            "team": record.team,
            "budget": record.budget,
            "period": record.budget_period,
            "period_id": hold.span.id,
            "spent": state.spent,
        }
        await self.event(name, message, attributes)

    def _retry(self, span: periods.Span) -> float:
        return NO_RESET_RETRY if span.ends_at is None else max(1.0, span.ends_at - self.clock())

    def _spent(self, record: KeyRecord, span: periods.Span, spent: float) -> RateLimited:
        adjective = periods.ADJECTIVE[record.budget_period or "total"]
        head = f"key {record.name!r} has spent its ${record.budget:.2f} {adjective} budget"
        if span.ends_at is None:
            tail = "it does not reset; an admin can raise it"
        else:
            tail = f"it resets in {periods.human(span.ends_at - self.clock())}"
        return RateLimited(
            f"{head} (${spent:.4f} spent); {tail}",
            retry_after=self._retry(span),
            code="budget_exceeded",
        )

    def _short(
        self, record: KeyRecord, span: periods.Span, amount: float, spent: float, held: float
    ) -> RateLimited:
        adjective = periods.ADJECTIVE[record.budget_period or "total"]
        left = max(0.0, (record.budget or 0.0) - spent - held)
        busy = f", ${held:.4f} held by requests in flight" if held > 0 else ""
        retry = 1.0 if held > 0 else self._retry(span)
        return RateLimited(
            f"key {record.name!r} has ${left:.4f} of its ${record.budget:.2f} {adjective} budget "
            f"left{busy}, less than this request's worst case ${amount:.4f} "
            f"(lower max_tokens, or retry in {periods.human(retry)})",
            retry_after=retry,
            code="budget_exceeded",
        )
