"""The Python SDK's tracing: `@observe` and `observe.span(...)`.

    from llmdeck.observe import observe

    observe.configure(url="http://127.0.0.1:4000", api_key="...")

    @observe(kind="chain")
    async def answer(question: str) -> str:
        with observe.span("search", kind="retrieval", input=question) as span:
            span.update(output=docs)
        ...

Spans nest through a context variable, so they form a tree across `await`s and tasks. Calls to
the gateway made inside a span join its trace: `llmdeck.client` sends the W3C `traceparent`
header itself, and `observe.headers()` / `observe.httpx_hook` give it to any other client.
Until `configure()` is called (or after `configure(enabled=False)`) a decorated function costs
one attribute check, and `observe.span()` returns a shared no-op span.
"""

from __future__ import annotations

import contextvars
import os
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from llmdeck.observe.decorate import wrap
from llmdeck.observe.sink import HttpSink, Sink
from llmdeck.observe.span import SPAN_KINDS, Span, SpanKind

F = TypeVar("F", bound=Callable[..., Any])
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_FIELDS = frozenset(Span.__slots__) - {"id", "trace_id", "parent_id", "start_time", "kind"}
_current: contextvars.ContextVar[ActiveSpan | None] = contextvars.ContextVar(
    "llmdeck_span", default=None
)


class ActiveSpan:
    """A span being recorded; `update()` sets its fields, leaving the block ends it."""

    def __init__(
        self,
        tracer: Tracer | None,
        span: Span,
        *,
        sampled: bool,
        parent: ActiveSpan | None = None,
    ) -> None:
        self.tracer = tracer
        self.span = span
        self.sampled = sampled
        self.parent = parent
        self._started = time.perf_counter()
        self._token: contextvars.Token[ActiveSpan | None] | None = None

    @property
    def trace_id(self) -> str:
        """The trace's 32-hex-digit id."""
        return self.span.trace_id

    @property
    def id(self) -> str:
        """This span's 16-hex-digit id."""
        return self.span.id

    def traceparent(self) -> str:
        """The W3C traceparent header naming this span."""
        return f"00-{self.span.trace_id}-{self.span.id}-{'01' if self.sampled else '00'}"

    def update(self, **fields: Any) -> ActiveSpan:
        """Set span fields (output, model, input_tokens, cost, ...); other names become
        attributes."""
        for key, value in fields.items():
            if key in _FIELDS:
                setattr(self.span, key, value)
            else:
                self.span.attributes[key] = value
        return self

    def update_trace(self, **fields: Any) -> None:
        """Set the trace's name, user_id, session_id, tags or metadata (on the local root)."""
        root = self
        while root.parent is not None:
            root = root.parent
        names = {"name": "trace_name", "metadata": "trace_metadata"}
        for key, value in fields.items():
            attribute = names.get(key, key)
            if attribute not in ("trace_name", "trace_metadata", "user_id", "session_id", "tags"):
                raise TypeError(f"update_trace() got an unexpected field {key!r}")
            setattr(root.span, attribute, value)

    def end(self, error: BaseException | None = None) -> None:
        """Finish the span and hand it to the sink (once)."""
        if self.span.end_time is not None:
            return
        elapsed = time.perf_counter() - self._started
        self.span.end_time = self.span.start_time + elapsed
        self.span.latency_ms = elapsed * 1000
        if error is not None:
            self.span.status = "error"
            self.span.error = self.span.error or f"{type(error).__name__}: {error}"
        if self.sampled and self.tracer is not None and self.tracer.sink is not None:
            self.tracer.sink(self.span)

    def __enter__(self) -> ActiveSpan:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        self.end(error)
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # a generator closed from another context: nothing to restore
                pass
            self._token = None

    async def __aenter__(self) -> ActiveSpan:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        self.__exit__(kind, error, tb)


class _NoSpan(ActiveSpan):
    """What `observe.span()` gives while tracing is off: does nothing."""

    def update(self, **fields: Any) -> ActiveSpan:
        return self

    def update_trace(self, **fields: Any) -> None:
        return None

    def end(self, error: BaseException | None = None) -> None:
        return None

    def __enter__(self) -> ActiveSpan:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        return None


_NOOP = _NoSpan(None, Span(id="0" * 16, trace_id="0" * 32, name="", kind="other", start_time=0),
                sampled=False)  # fmt: skip


def _hex(bits: int) -> str:
    return f"{random.getrandbits(bits):0{bits // 4}x}"


def current_span() -> ActiveSpan | None:
    """The span recording in this context, if any."""
    span = _current.get()
    return span if span is not None and span.tracer is not None else None


class Tracer:
    """The `observe` object: a decorator, a span factory, and the SDK's configuration."""

    def __init__(self) -> None:
        self.sink: Sink | None = None
        self.sample_rate = 1.0

    def configure(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        sink: Sink | None = None,
        service: str = "app",
        sample_rate: float = 1.0,
        enabled: bool = True,
    ) -> Tracer:
        """Send spans to a llmdeck server (default $LLMDECK_URL, else http://127.0.0.1:4000,
        with $LLMDECK_API_KEY), or to `sink`; `enabled=False` turns tracing off."""
        self.shutdown()
        self.sample_rate = sample_rate
        if not enabled:
            self.sink = None
        elif sink is not None:
            self.sink = sink
        else:
            address = url or os.environ.get("LLMDECK_URL") or "http://127.0.0.1:4000"
            key = api_key or os.environ.get("LLMDECK_API_KEY")
            self.sink = HttpSink(address, key, service=service)
        return self

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded."""
        return self.sink is not None

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "chain",
        input: Any = None,
        parent: str | None = None,
        **fields: Any,
    ) -> ActiveSpan:
        """A span for a `with` (or `async with`) block; `parent` continues a traceparent."""
        if self.sink is None:
            return _NOOP
        if kind not in SPAN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SPAN_KINDS)}, not {kind!r}")
        above = _current.get()
        if above is not None and above.tracer is None:
            above = None
        trace_id, parent_id, sampled = self._lineage(above, parent)
        span = Span(
            id=_hex(64), trace_id=trace_id, parent_id=parent_id, name=name, kind=kind,
            start_time=time.time(), input=input,
        )  # fmt: skip
        active = ActiveSpan(self, span, sampled=sampled, parent=above)
        return active.update(**fields) if fields else active

    def _lineage(
        self, above: ActiveSpan | None, parent: str | None
    ) -> tuple[str, str | None, bool]:
        if parent:
            match = _TRACEPARENT.match(parent.strip().lower())
            if match and int(match.group(1), 16):
                return match.group(1), match.group(2), match.group(3) == "01"
        if above is not None:
            return above.trace_id, above.id, above.sampled
        return _hex(128), None, random.random() < self.sample_rate

    def __call__(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        kind: SpanKind = "chain",
        capture_input: bool = True,
        capture_output: bool = True,
    ) -> Any:
        """Decorate a function (sync or async, or a generator) to record a span per call."""

        def decorate(target: F) -> F:
            label = name or target.__name__
            return wrap(self, target, label, kind, capture_input, capture_output)

        return decorate(fn) if fn is not None else decorate

    def traceparent(self) -> str | None:
        """The W3C traceparent header for the current span, if one is recording."""
        span = current_span()
        return span.traceparent() if span is not None else None

    def headers(self) -> dict[str, str]:
        """`{"traceparent": ...}` for the current span, or `{}`: pass to any HTTP client."""
        header = self.traceparent()
        return {"traceparent": header} if header else {}

    def httpx_hook(self, request: Any) -> None:
        """An httpx request event hook that adds the traceparent header (sync clients)."""
        header = self.traceparent()
        if header and "traceparent" not in request.headers:
            request.headers["traceparent"] = header

    async def ahttpx_hook(self, request: Any) -> None:
        """`httpx_hook` for `httpx.AsyncClient`."""
        self.httpx_hook(request)

    def current_span(self) -> ActiveSpan | None:
        """The span recording in this context, if any."""
        return current_span()

    def update_trace(self, **fields: Any) -> None:
        """Set trace fields (name, user_id, session_id, tags, metadata) from inside a span."""
        span = current_span()
        if span is not None:
            span.update_trace(**fields)

    def flush(self, timeout: float = 30.0) -> bool:
        """Send what is queued (for HTTP sinks)."""
        flush = getattr(self.sink, "flush", None)
        return bool(flush(timeout)) if flush is not None else True

    def shutdown(self) -> None:
        """Flush and stop the current sink."""
        stop = getattr(self.sink, "shutdown", None)
        if stop is not None:
            stop()


observe = Tracer()
"""The SDK's tracer: `@observe(...)`, `observe.span(...)`, `observe.configure(...)`."""
