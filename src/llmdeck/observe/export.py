"""Forward recorded spans to an external OTLP/HTTP collector (`observe.export`).

The recorder hands each written batch to `Exporter.offer`, which only queues it; a thread sends
batches (protobuf or JSON, with GenAI and OpenInference attributes and cost), retrying what the
collector asks to be retried. Spans that do not fit the queue are counted as dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import httpx

from llmdeck.config import ExportSettings
from llmdeck.observe.metrics import Family
from llmdeck.observe.otlp import to_json, to_protobuf
from llmdeck.observe.span import Span

log = logging.getLogger(__name__)
_RETRY = {429, 502, 503, 504}


class Exporter:
    """A background OTLP/HTTP exporter."""

    def __init__(self, settings: ExportSettings, batch_size: int = 512) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self._queue: deque[Span] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sending = False
        self.exported = 0
        self.dropped = 0
        self.failed = 0
        json = settings.protocol == "http/json"
        self._encode = to_json if json else to_protobuf
        self._headers = {
            "content-type": "application/json" if json else "application/x-protobuf",
            **settings.headers,
        }

    def start(self) -> None:
        """Start the sending thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="llmdeck-export", daemon=True)
            self._thread.start()

    def offer(self, spans: list[Span]) -> None:
        """Queue spans for export (never blocks)."""
        room = self.settings.queue_size - len(self._queue)
        if room < len(spans):
            self.dropped += len(spans) - max(room, 0)
            spans = spans[: max(room, 0)]
        self._queue.extend(spans)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (within `timeout`), then stop."""
        deadline = time.monotonic() + timeout
        while (self._queue or self._sending) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.02)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.settings.timeout) as client:
            while not self._stop.is_set() or self._queue:
                self._wake.wait(1.0)
                self._wake.clear()
                while self._queue:
                    count = min(self.batch_size, len(self._queue))
                    batch = [self._queue.popleft() for _ in range(count)]
                    self._sending = True
                    try:
                        self._send(client, batch)
                    finally:
                        self._sending = False

    def _send(self, client: httpx.Client, batch: list[Span]) -> None:
        body = self._encode(batch)
        for attempt in range(4):
            try:
                response = client.post(self.settings.endpoint, content=body, headers=self._headers)
            except httpx.HTTPError as exc:
                status, reason = None, str(exc)
            else:
                if response.status_code < 300:
                    self.exported += len(batch)
                    return
                status, reason = response.status_code, response.text[:200]
            if (status is not None and status not in _RETRY) or self._stop.is_set():
                break
            time.sleep(min(0.5 * 2**attempt, 5.0))
        self.failed += len(batch)
        log.warning("could not export %d spans to %s: %s", len(batch), self.settings.endpoint,
                    reason)  # fmt: skip

    def collect(self) -> list[Family]:
        """The exporter's counters, for /metrics."""
        samples = [
            ({"outcome": "exported"}, float(self.exported)),
            ({"outcome": "dropped"}, float(self.dropped)),
            ({"outcome": "failed"}, float(self.failed)),
        ]
        return [("llmdeck_export_spans_total", "counter", "Spans sent on to OTLP.", samples)]
