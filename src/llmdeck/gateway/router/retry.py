"""Retry policy: what a failed attempt means, how long to back off, the request's deadline,
and the error a client gets when nothing worked."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Literal

from llmdeck.config import Backoff
from llmdeck.errors import BadRequest, UpstreamError
from llmdeck.gateway.providers.base import ProviderError

TIMEOUT_HEADER = "x-llmdeck-timeout"
# Kinds of failure: `timeout`; `unavailable` (refused, dropped, 429, 503, circuit open, all
# busy: the deployment is down or shedding load); `bad` (any other 5xx, a malformed answer,
# a rejected credential: it answered, wrongly).
Kind = Literal["timeout", "unavailable", "bad"]
_UNAVAILABLE = frozenset({429, 503})
_NOT_RETRIED = frozenset({401, 403, 404})  # credentials or model name: the same next time


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one deployment did not serve the call."""

    deployment: str
    kind: Kind
    message: str
    retry_after: float | None = None
    attempted: bool = True
    retryable: bool = True  # whether trying the same deployment again later could help


def failure_of(deployment: str, error: ProviderError) -> Failure:
    """Classify a failed attempt."""
    if error.timeout:
        kind: Kind = "timeout"
    elif error.status is None or error.status in _UNAVAILABLE:
        kind = "unavailable"  # a connection refused, reset or dropped, a 429 or 503
    else:
        kind = "bad"
    retryable = error.status not in _NOT_RETRIED
    return Failure(deployment, kind, error.message, error.retry_after, retryable=retryable)


def skipped(deployment: str, reason: str, retry_in: float) -> Failure:
    """A deployment not attempted (circuit open, resting, busy)."""
    text = f"{deployment}: {reason}"
    if retry_in > 0:
        text += f" (for {retry_in:.1f}s)"
    return Failure(deployment, "unavailable", text, retry_in or None, attempted=False)


def backoff_delay(settings: Backoff, round_number: int, rng: random.Random) -> float:
    """The pause before round `round_number` (1 = the first retry), with jitter."""
    base = min(settings.max, settings.initial * settings.multiplier ** (round_number - 1))
    return base * (1.0 - settings.jitter * rng.random())


class Deadline:
    """The time left for a request, across every attempt and pause."""

    __slots__ = ("seconds", "ends")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative when past)."""
        return self.ends - time.monotonic()


def request_timeout(value: str | None) -> float | None:
    """The deadline a client asked for in the `x-llmdeck-timeout` header (seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise BadRequest(
            f"{TIMEOUT_HEADER}: expected a positive number of seconds, got {value!r}",
            code="invalid_header",
            param=TIMEOUT_HEADER,
        )
    return seconds


def upstream_error(
    alias: str, failures: list[Failure], *, deadline: Deadline | None = None
) -> UpstreamError:
    """The error for a call no deployment served: 504 when the deadline passed or every
    attempt timed out; 503 when every deployment was unavailable (down, shedding load, circuit
    open, busy); else 502. It names every deployment and why it failed."""
    names = tuple(dict.fromkeys(f.deployment for f in failures))
    details = "; ".join(f.message for f in failures) or "no deployment to try"
    kinds = {f.kind for f in failures}
    if deadline is not None and deadline.remaining() <= 0:
        status = 504
        summary = f"deadline of {deadline.seconds:g}s reached for {alias!r}"
    elif kinds == {"timeout"}:
        status, summary = 504, f"all deployments of {alias!r} timed out"
    elif "bad" in kinds:
        status, summary = 502, f"all deployments of {alias!r} failed"
    else:
        status, summary = 503, f"no deployment of {alias!r} is available"
    waits = [f.retry_after for f in failures if f.retry_after]
    return UpstreamError(
        f"{summary} ({', '.join(names)}): {details}",
        status=status,
        deployments=names,
        retry_after=min(waits) if waits and status == 503 else None,
    )
