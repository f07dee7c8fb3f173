"""The write-behind recorder: spans go on a bounded queue and a background thread writes them
in batches. Recording never blocks or fails a request; what cannot be queued is counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import orjson

from llmdeck.config import ObserveSettings
from llmdeck.observe.span import Span
from llmdeck.store import Store, tables

log = logging.getLogger(__name__)


class Recorder:
    """Queues spans and writes them to the store in batches on its own thread."""

    def __init__(self, store: Store, settings: ObserveSettings | None = None) -> None:
        self.store = store
        self.settings = settings or ObserveSettings()
        self._queue: deque[Span] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self.recorded = 0
        self.dropped = 0
        self.failed = 0
        self.truncated = 0

    @property
    def depth(self) -> int:
        """Spans waiting to be written."""
        return len(self._queue)

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="llmdeck-recorder", daemon=True)
            self._thread.start()

    def record(self, span: Span) -> None:
        """Queue a span. Never blocks; drops (and counts) it when the queue is full."""
        if len(self._queue) >= self.settings.queue_size:
            self.dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= self.settings.batch_size:
            self._wake.set()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.set()
                self._idle.wait(min(remaining, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self.settings.flush_interval)
            self._wake.clear()
            while self._queue:
                self._write_batch()
            with self._idle:
                self._idle.notify_all()
            if self._stop.is_set() and not self._queue:
                return

    def _write_batch(self) -> None:
        batch: list[Span] = []
        with self._idle:
            self._busy += 1
        try:
            while self._queue and len(batch) < self.settings.batch_size:
                batch.append(self._queue.popleft())
            self._write(batch)
            self.recorded += len(batch)
        except Exception:
            self.failed += len(batch)
            log.exception("could not write %d spans", len(batch))
        finally:
            with self._idle:
                self._busy -= 1

    def _write(self, batch: list[Span]) -> None:
        limit = self.settings.max_field_chars
        span_rows = [self._bounded(span.row(), limit, count=True) for span in batch]
        seen: dict[str, dict[str, Any]] = {}
        for span in batch:
            if span.trace_id not in seen or span.parent_id is None:
                seen[span.trace_id] = self._bounded(span.trace_row(), limit)

        def write(conn: Any) -> None:
            conn.execute(self.store.insert_ignore(tables.traces), list(seen.values()))
            conn.execute(tables.spans.insert(), span_rows)

        self.store.write(write)

    def _bounded(self, row: dict[str, Any], limit: int, *, count: bool = False) -> dict[str, Any]:
        for key in ("input", "output"):
            value = row.get(key)
            if value is None or isinstance(value, int | float | bool):
                continue
            text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
            if len(text) > limit:
                self.truncated += count
                row[key] = {"truncated": True, "length": len(text), "text": text[:limit]}
        return row
