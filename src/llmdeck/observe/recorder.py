"""The write-behind recorder: spans go on a bounded queue and a background thread writes them
in batches. Recording never blocks or fails a request; what cannot be queued is counted.

The writer also folds every span into the roll-ups (before sampling, so analytics and metrics
count everything), keeps a short live feed for `llmdeck traces tail`, and hands what it stored
to listeners such as the OTLP exporter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Connection, select

from llmdeck.config import ObserveSettings
from llmdeck.observe.batch import BatchWriter
from llmdeck.observe.live import LiveFeed
from llmdeck.observe.metrics import Metrics
from llmdeck.observe.span import Event, Score, Span
from llmdeck.observe.spool import RECOVER_EVERY, Spool
from llmdeck.store import Store, tables

log = logging.getLogger(__name__)

Listener = Callable[[list[Span]], None]


def sampled(trace_id: str, rate: float) -> bool:
    """Whether a trace is kept at `rate`: decided by its id, so every source agrees."""
    if rate >= 1.0:
        return True
    try:
        return int(trace_id[-8:], 16) < rate * 0x1_0000_0000
    except ValueError:
        return True


class Recorder:
    """Queues spans, scores and events and writes them to the store in batches on its own thread."""

    def __init__(
        self, store: Store, settings: ObserveSettings | None = None, spool: Spool | None = None
    ) -> None:
        self.store = store
        self.settings = settings or ObserveSettings()
        self.spool = spool
        self._seqs: deque[int] = deque()  # spool numbers of the queued spans (with a spool)
        self._spool_lock = threading.Lock()
        self._recovered_at = 0.0
        self.metrics = Metrics()
        self.live = LiveFeed()
        self.listeners: list[Listener] = []
        self._queue: deque[Span] = deque()
        self._scores: deque[Score] = deque()
        self._events: deque[Event] = deque()
        self._writer = BatchWriter(store, self.settings.max_field_chars)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self.recorded = 0
        self.dropped = 0
        self.refused = 0
        self.failed = 0
        self.sampled_out = 0
        self.events_dropped = 0
        self.metrics.add_collector(self._collect)

    @property
    def depth(self) -> int:
        """Spans waiting to be written."""
        return len(self._queue)

    @property
    def truncated(self) -> int:
        """Spans whose input or output was cut to `max_field_chars`."""
        return self._writer.bound.truncated

    def start(self) -> None:
        """Start the writer thread (with a spool: open it, and store what dead processes left
        in it first)."""
        if self.spool is not None and self._thread is None:
            self.spool.open()
            self._recover()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="llmdeck-recorder", daemon=True)
            self._thread.start()

    def record(self, span: Span) -> None:
        """Queue a span. Never blocks; drops (and counts) it when the queue is full."""
        if len(self._queue) >= self.settings.queue_size:
            self.dropped += 1
            return
        if self.spool is not None:
            self._spooled(span)
        else:
            self._queue.append(span)
        if len(self._queue) >= self.settings.batch_size:
            self._wake.set()

    def _spooled(self, span: Span) -> None:
        """Queue `span` with its copy written ahead (a full disk only loses the copy)."""
        with self._spool_lock:
            try:
                seq = self.spool.append(span) if self.spool is not None else 0
            except OSError:
                log.warning("could not write a span ahead to the spool", exc_info=True)
                seq = 0
            self._queue.append(span)
            self._seqs.append(seq)

    def record_many(self, spans: list[Span]) -> bool:
        """Queue all of `spans`, or none when they do not fit (the caller should retry later)."""
        if len(self._queue) + len(spans) > self.settings.queue_size:
            self.refused += len(spans)
            return False
        if self.spool is not None:
            for span in spans:
                self._spooled(span)
        else:
            self._queue.extend(spans)
        if len(self._queue) >= self.settings.batch_size:
            self._wake.set()
        return True

    def record_score(self, score: Score) -> None:
        """Queue a score (for capabilities that score calls as they happen)."""
        if len(self._scores) < self.settings.queue_size:
            self._scores.append(score)

    def record_event(self, event: Event) -> None:
        """Queue an event: something that happened (`circuit.open`, `budget.warning`, ...)."""
        if len(self._events) < self.settings.queue_size:
            self._events.append(event)
        else:
            self.events_dropped += 1

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._queue or self._scores or self._events or self._busy:
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
        if self.spool is not None and not self._queue:
            self.spool.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.settings.flush_interval)
            self._wake.clear()
            while self._queue or self._scores or self._events:
                self._write_batch()
            if self.spool is not None and time.monotonic() - self._recovered_at > RECOVER_EVERY:
                self._recover()
            with self._idle:
                self._idle.notify_all()
            if self._stop.is_set() and not self._queue:
                return

    def _take(self) -> tuple[list[Span], list[Score], list[Event], int]:
        size = self.settings.batch_size
        last = 0
        with self._spool_lock:
            spans = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
            for _ in range(len(spans) if self._seqs else 0):
                last = self._seqs.popleft() or last
        scores = [self._scores.popleft() for _ in range(min(size, len(self._scores)))]
        events = [self._events.popleft() for _ in range(min(size, len(self._events)))]
        return spans, scores, events, last

    def _write_batch(self) -> None:
        with self._idle:
            self._busy += 1
        spans, scores, events, last = self._take()
        try:
            rate = self.settings.sample_rate
            kept = spans if rate >= 1.0 else [s for s in spans if sampled(s.trace_id, rate)]
            self._writer.write(spans, kept, scores, events)
            self.recorded += len(kept)
            self.sampled_out += len(spans) - len(kept)
            if self.spool is not None and last:
                self.spool.stored(last)
            self.live.extend(spans)
            for listener in self.listeners:
                listener(kept)
        except Exception:
            self.failed += len(spans)
            log.exception("could not write %d spans", len(spans))
        finally:
            with self._idle:
                self._busy -= 1

    def _recover(self) -> None:
        """Store the spans that processes killed before writing them left in the spool."""
        self._recovered_at = time.monotonic()
        assert self.spool is not None
        try:
            self.spool.recover(self._store_missing)
        except Exception:  # the next round tries again; the files stay
            log.exception("could not recover spooled spans")

    def _store_missing(self, spans: list[Span]) -> None:
        """Write the spans the database does not have (a process may die after storing a
        batch but before emptying its spool), rolled up once."""
        column = tables.spans.c.id

        def stored(conn: Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(spans), 1000):
                ids = [s.id for s in spans[start : start + 1000]]
                found.update(conn.execute(select(column).where(column.in_(ids))).scalars())
            return found

        have = self.store.read(stored)
        missing = [s for s in spans if s.id not in have]
        rate = self.settings.sample_rate
        kept = missing if rate >= 1.0 else [s for s in missing if sampled(s.trace_id, rate)]
        self._writer.write(missing, kept, [], [])
        self.recorded += len(kept)

    def _collect(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
        spans = [
            ({"outcome": outcome}, float(value))
            for outcome, value in (
                ("recorded", self.recorded),
                ("dropped", self.dropped),
                ("refused", self.refused),
                ("failed", self.failed),
                ("sampled_out", self.sampled_out),
            )
        ]
        return [
            (
                "llmdeck_recorder_queue_depth",
                "gauge",
                "Spans waiting to be written.",
                [({}, float(self.depth))],
            ),
            ("llmdeck_recorder_spans_total", "counter", "Spans by what became of them.", spans),
            (
                "llmdeck_recorder_truncated_total",
                "counter",
                "Spans whose input or output was truncated.",
                [({}, float(self.truncated))],
            ),
        ]
