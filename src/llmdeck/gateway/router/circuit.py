"""Circuit breakers, one per deployment: closed -> open -> half-open -> closed.

The logic is a pure function of a `CircuitRecord` and the time, so the in-process store here
and the Redis store (`circuit_redis.py`, the same rules in Lua) behave alike. Times are epoch
seconds, passed in, so replicas sharing a record agree and tests need no sleeping.

Besides the circuit, a record keeps a deployment's *rest*: a 429 or 503 with `Retry-After`
makes every request skip the deployment until then (capped by the alias's
`backoff.max_retry_after`), as the provider asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from llmdeck.config import CircuitSettings

State = Literal["closed", "open", "half-open"]
Outcome = Literal["success", "failure", "released"]
BUCKETS = 10  # the window is counted in this many buckets
CIRCUIT_OPEN = "circuit open"  # the refusal a request should not wait out


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of a deployment's circuit state, and why."""

    deployment: str
    before: State
    after: State
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Admission:
    """May a request go to the deployment now? A refusal says why and for how long."""

    allowed: bool
    probe: bool = False
    reason: str = ""
    retry_in: float = 0.0
    transition: Transition | None = None


ALLOWED = Admission(True)


@dataclass(frozen=True, slots=True)
class CircuitView:
    """A deployment's circuit as shown in `/health/ready` and `llmdeck deployments list`."""

    state: State
    requests: int
    failures: int
    consecutive_failures: int
    retry_in: float
    resting_for: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        rate = self.failures / self.requests if self.requests else 0.0
        return {
            "state": self.state,
            "window_requests": self.requests,
            "window_failures": self.failures,
            "window_failure_rate": round(rate, 3),
            "consecutive_failures": self.consecutive_failures,
            "retry_in": round(self.retry_in, 3),
            "resting_for": round(self.resting_for, 3),
        }


@dataclass(slots=True)
class CircuitRecord:
    """What is kept per deployment. `buckets` maps a bucket number (time // bucket width) to
    [attempts, failures]."""

    state: State = "closed"
    opened_at: float = 0.0
    probe_until: float = 0.0
    consecutive: int = 0
    rest_until: float = 0.0
    buckets: dict[int, list[int]] = field(default_factory=dict)

    def counts(self, settings: CircuitSettings, now: float) -> tuple[int, int]:
        """Attempts and failures in the window ending now (older buckets are dropped)."""
        width = settings.window / BUCKETS
        oldest = int(now // width) - BUCKETS + 1
        for number in [n for n in self.buckets if n < oldest]:
            del self.buckets[number]
        requests = sum(b[0] for b in self.buckets.values())
        failures = sum(b[1] for b in self.buckets.values())
        return requests, failures


def admit(
    name: str, record: CircuitRecord, settings: CircuitSettings, now: float, lease: float
) -> Admission:
    """Whether a request may go to the deployment; an open circuit past its cooldown turns
    half-open and admits one probe, held for `lease` seconds at most."""
    if record.rest_until > now:
        return Admission(False, reason="resting (Retry-After)", retry_in=record.rest_until - now)
    if not settings.enabled or record.state == "closed":
        return ALLOWED
    transition = None
    if record.state == "open":
        reopen = record.opened_at + settings.cooldown
        if now < reopen:
            return Admission(False, reason=CIRCUIT_OPEN, retry_in=reopen - now)
        record.state, record.probe_until = "half-open", 0.0
        transition = Transition(name, "open", "half-open", "cooldown over", now)
    if record.probe_until > now:
        return Admission(False, reason="circuit half-open, probe in flight", retry_in=0.0)
    record.probe_until = now + lease
    return Admission(True, probe=True, reason="probe", transition=transition)


def settle(
    name: str,
    record: CircuitRecord,
    settings: CircuitSettings,
    outcome: Outcome,
    now: float,
    *,
    probe: bool = False,
    rest: float = 0.0,
) -> Transition | None:
    """Count an attempt's outcome; returns the state change it caused, if any.

    `released` is an attempt with no verdict (its client went away): a probe's slot is
    freed and nothing is counted. `rest` (seconds) makes the deployment rest that long.
    """
    if rest > 0:
        record.rest_until = max(record.rest_until, now + rest)
    if outcome == "released":
        if probe and record.state == "half-open":
            record.probe_until = 0.0
        return None
    ok = outcome == "success"
    if record.state == "half-open":
        if not probe:
            return None  # an attempt admitted before the circuit opened
        record.probe_until = 0.0
        if ok:
            _reset(record)
            return Transition(name, "half-open", "closed", "probe succeeded", now)
        record.state, record.opened_at = "open", now
        return Transition(name, "half-open", "open", "probe failed", now)
    if record.state == "open" or not settings.enabled:
        return None
    return _count(name, record, settings, ok, now)


def _count(
    name: str, record: CircuitRecord, settings: CircuitSettings, ok: bool, now: float
) -> Transition | None:
    requests, failures = record.counts(settings, now)  # drops buckets that left the window
    bucket = record.buckets.setdefault(int(now // (settings.window / BUCKETS)), [0, 0])
    bucket[0] += 1
    requests += 1
    if ok:
        record.consecutive = 0
        return None
    bucket[1] += 1
    failures += 1
    record.consecutive += 1
    if record.consecutive >= settings.consecutive_failures:
        reason = f"{record.consecutive} failures in a row"
    elif requests >= settings.min_requests and failures >= settings.failure_rate * requests:
        reason = f"{failures} of {requests} attempts failed in {settings.window:g}s"
    else:
        return None
    _reset(record)
    record.state, record.opened_at = "open", now
    return Transition(name, "closed", "open", reason, now)


def _reset(record: CircuitRecord) -> None:
    record.state, record.consecutive, record.probe_until = "closed", 0, 0.0
    record.buckets.clear()


def view(record: CircuitRecord, settings: CircuitSettings, now: float) -> CircuitView:
    """The record as shown to people."""
    requests, failures = record.counts(settings, now)
    retry_in = 0.0
    if record.state == "open":
        retry_in = max(0.0, record.opened_at + settings.cooldown - now)
    return CircuitView(
        state=record.state,
        requests=requests,
        failures=failures,
        consecutive_failures=record.consecutive,
        retry_in=retry_in,
        resting_for=max(0.0, record.rest_until - now),
    )


class CircuitStore(Protocol):
    """Where circuit records live: in this process, or shared by replicas (Redis)."""

    async def admit(
        self, name: str, settings: CircuitSettings, now: float, lease: float
    ) -> Admission:
        """Whether a request may go to deployment `name` now (see `admit`)."""
        ...

    async def settle(
        self,
        name: str,
        settings: CircuitSettings,
        outcome: Outcome,
        now: float,
        *,
        probe: bool = False,
        rest: float = 0.0,
    ) -> Transition | None:
        """Count an attempt's outcome (see `settle`)."""
        ...

    async def view(self, name: str, settings: CircuitSettings, now: float) -> CircuitView:
        """The deployment's circuit, for people."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class LocalCircuits:
    """Circuit records in this process: each replica judges deployments on its own traffic."""

    def __init__(self) -> None:
        self.records: dict[str, CircuitRecord] = {}

    def _record(self, name: str) -> CircuitRecord:
        record = self.records.get(name)
        if record is None:
            record = self.records[name] = CircuitRecord()
        return record

    async def admit(
        self, name: str, settings: CircuitSettings, now: float, lease: float
    ) -> Admission:
        """See `admit`."""
        record = self._record(name)
        if record.state == "closed" and record.rest_until <= now:
            return ALLOWED  # the common case, without a call
        return admit(name, record, settings, now, lease)

    async def settle(
        self,
        name: str,
        settings: CircuitSettings,
        outcome: Outcome,
        now: float,
        *,
        probe: bool = False,
        rest: float = 0.0,
    ) -> Transition | None:
        """See `settle`."""
        return settle(name, self._record(name), settings, outcome, now, probe=probe, rest=rest)

    async def view(self, name: str, settings: CircuitSettings, now: float) -> CircuitView:
        """See `view`."""
        return view(self._record(name), settings, now)

    async def close(self) -> None:
        """Nothing to release."""
