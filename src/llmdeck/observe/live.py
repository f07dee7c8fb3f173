"""The live feed: the last spans written, numbered, for `llmdeck traces tail` to follow."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable

from llmdeck.observe.span import Span


class LiveFeed:
    """A ring of the most recent spans, each with a sequence number (per server process)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.instance = os.urandom(4).hex()
        self._ring: deque[tuple[int, Span]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._last = 0

    @property
    def last(self) -> int:
        """The sequence number of the newest span (0 before any)."""
        return self._last

    def extend(self, spans: Iterable[Span]) -> None:
        """Append spans as they are written."""
        with self._lock:
            for span in spans:
                self._last += 1
                self._ring.append((self._last, span))

    def after(
        self, seq: int, match: Callable[[Span], bool], limit: int = 1_000
    ) -> tuple[list[Span], int]:
        """Matching spans numbered after `seq` (oldest first), and the number to ask after next."""
        with self._lock:
            if seq > self._last:  # a cursor from before a restart, or "from now on"
                return [], self._last
            items = list(self._ring) if self._ring and self._ring[-1][0] > seq else []
        found: list[Span] = []
        cursor = seq
        for number, span in items:
            if number <= seq:
                continue
            cursor = number
            if match(span):
                found.append(span)
                if len(found) >= limit:
                    break
        return found, max(cursor, seq)
