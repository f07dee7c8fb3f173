"""The fake's shared state: the current knobs, the failure generator, the request log and counts.

The server's event loop writes it and the test's thread reads and sets it, so every access goes
through one lock; a request reads the knobs once, when it arrives.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmdeck.testing.knobs import Behaviour, Plan, plan


@dataclass(slots=True)
class RecordedRequest:
    """One request the fake received. `outcome` is what it was given: "ok", "error:429", "drop",
    "hang", "cut" or "error_event"."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Looked up case-insensitively."""
    body: Any
    """The parsed JSON body, or `None`."""
    time: float
    """`time.time()` on arrival."""
    outcome: str


class Control:
    """Knobs, failure generator, log and counts, safe to use from any thread."""

    def __init__(self, behaviour: Behaviour, log_size: int | None) -> None:
        self._initial = behaviour
        self._behaviour = behaviour
        self._rng = random.Random(behaviour.seed)
        self._lock = threading.Lock()
        self._log: deque[RecordedRequest] = deque(maxlen=log_size)
        self._logging = log_size != 0
        self._counts: Counter[str] = Counter()
        self._serial = 0

    @property
    def behaviour(self) -> Behaviour:
        """The knobs in force now."""
        return self._behaviour

    def set(self, behaviour: Behaviour | None, changes: dict[str, Any]) -> Behaviour:
        """Replace the knobs with `behaviour` (if given) with `changes` laid over them."""
        with self._lock:
            base = behaviour or self._behaviour
            new = base.merged(changes) if changes else base
            if "seed" in changes or new.seed != self._behaviour.seed:
                self._rng.seed(new.seed)
            self._behaviour = new
            return new

    def reset(self) -> None:
        """Back to the knobs the fake was made with, and restart the failure sequence."""
        with self._lock:
            self._behaviour = self._initial
            self._rng.seed(self._initial.seed)

    def decide(self, behaviour: Behaviour, stream: bool) -> tuple[Plan, int]:
        """The plan for one request, and its serial number."""
        with self._lock:
            self._serial += 1
            rng = self._rng if behaviour.fail_rate else None
            return plan(behaviour, rng, stream), self._serial

    def record(
        self, method: str, path: str, headers: Mapping[str, str], body: Any, outcome: str
    ) -> None:
        """Log and count one request."""
        with self._lock:
            self._counts[outcome] += 1
            self._counts["total"] += 1
            if self._logging:
                self._log.append(RecordedRequest(method, path, headers, body, time.time(), outcome))

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the log, oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def counts(self) -> dict[str, int]:
        """Requests by outcome, and "total"."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        """Empty the log and zero the counts."""
        with self._lock:
            self._log.clear()
            self._counts.clear()
