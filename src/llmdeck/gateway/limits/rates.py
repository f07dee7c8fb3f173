"""Requests-per-minute and tokens-per-minute limits, for keys and deployments alike.

One admission counts the request and its estimated tokens in their sliding windows, atomically
(both or neither). When the call ends, the tokens window is corrected by the real usage minus
the estimate, in the bucket the estimate went to.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmdeck.gateway.limits.periods import human
from llmdeck.gateway.state import StateBackend, WindowCheck


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted request's tokens, to correct once the real usage is known."""

    check: WindowCheck
    bucket: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was not admitted, and when it may be."""

    message: str
    retry_after: float
    unit: str


def per(window: float) -> str:
    """'per minute' for the usual window, else 'per 5s'."""
    return "per minute" if window == 60 else f"per {window:g}s"


class RateLimiter:
    """Sliding-window rpm and tpm over the shared state."""

    def __init__(self, state: StateBackend, window: float = 60.0) -> None:
        self.state = state
        self.window = window

    def checks(
        self, scope: str, rpm: int | None, tpm: int | None, tokens: int
    ) -> list[WindowCheck]:
        """The windows a request of `tokens` counts in, for a scope with these limits."""
        out = []
        if rpm is not None:
            out.append(WindowCheck(f"rl:{{{scope}}}:rpm", 1, rpm, self.window))
        if tpm is not None:
            out.append(WindowCheck(f"rl:{{{scope}}}:tpm", tokens, tpm, self.window))
        return out

    async def admit(
        self, scope: str, subject: str, rpm: int | None, tpm: int | None, tokens: int
    ) -> Ticket | Refusal | None:
        """Count the request; a Ticket to settle its tokens (None without a tpm limit), or the
        Refusal naming the limit it is over."""
        checks = self.checks(scope, rpm, tpm, tokens)
        if not checks:
            return None
        admission = await self.state.admit(checks)
        if not admission.allowed:
            check = checks[admission.blocked or 0]
            return self.refusal(subject, check, admission.retry_after)
        if tpm is None:
            return None
        return Ticket(checks[-1], admission.buckets[-1])

    def refusal(self, subject: str, check: WindowCheck, retry_after: float) -> Refusal:
        """The refusal for a window that had no room."""
        unit = "requests" if check.key.endswith(":rpm") else "tokens"
        window = per(check.window)
        if check.amount > check.limit:
            message = (
                f"{subject} allows {check.limit} {unit} {window}; this request counts about "
                f"{check.amount}, more than the whole limit (lower max_tokens or the input)"
            )
            return Refusal(message, check.window, unit)
        message = (
            f"{subject} is over its {check.limit} {unit} {window}; retry in {human(retry_after)}"
        )
        return Refusal(message, retry_after, unit)

    async def settle(self, ticket: Ticket, tokens: int) -> None:
        """Correct the tokens window by the real count."""
        delta = tokens - ticket.check.amount
        if delta:
            await self.state.adjust(ticket.check, ticket.bucket, delta)
