"""Where SDK spans go: `HttpSink` batches them to a llmdeck server's OTLP endpoint from a
background thread (retrying when the server asks), so instrumented code never waits on it."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import httpx

from llmdeck.observe.otlp import to_protobuf
from llmdeck.observe.span import Span

log = logging.getLogger(__name__)
Sink = Callable[[Span], None]
_RETRY = {429, 502, 503, 504}


class HttpSink:
    """Sends spans to `{url}/otlp/v1/traces` in OTLP protobuf batches."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        service: str = "app",
        batch_size: int = 512,
        flush_interval: float = 1.0,
        queue_size: int = 50_000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/otlp/v1/traces"
        self.service = service
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        headers = {"content-type": "application/x-protobuf"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(headers=headers, timeout=30, transport=transport)
        self._queue: deque[Span] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="llmdeck-sdk-sink", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    def __call__(self, span: Span) -> None:
        """Queue a finished span (dropped, and counted, when the queue is full)."""
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def flush(self, timeout: float = 30.0) -> bool:
        """Send everything queued so far; False if that took longer than `timeout`."""
        deadline = time.monotonic() + timeout
        while self._queue or self._in_flight:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.01)
        return True

    def shutdown(self, timeout: float = 30.0) -> None:
        """Flush, then stop the thread and close the connection pool."""
        if self._stop.is_set():
            return
        self.flush(timeout)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue:
                with self._lock:
                    self._in_flight += 1
                try:
                    count = min(self.batch_size, len(self._queue))
                    self._send([self._queue.popleft() for _ in range(count)])
                finally:
                    with self._lock:
                        self._in_flight -= 1

    def _send(self, batch: list[Span]) -> None:
        body = to_protobuf(batch, service=self.service)
        for attempt in range(8):
            try:
                response = self._client.post(self.endpoint, content=body)
                status = response.status_code
            except httpx.HTTPError as exc:
                status, response = 0, None
                log.debug("sending spans failed: %s", exc)
            if 200 <= status < 300:
                self.sent += len(batch)
                return
            if status and status not in _RETRY:
                break
            retry_after = response.headers.get("retry-after") if response is not None else None
            delay = float(retry_after) if retry_after and retry_after.isdigit() else 0.2
            time.sleep(min(delay * (attempt + 1), 5.0))
        self.failed += len(batch)
        log.warning("llmdeck: could not send %d spans to %s", len(batch), self.endpoint)
