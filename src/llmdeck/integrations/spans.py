"""Framework runs as llmdeck spans: one open span per run id, nested by the framework's parent ids.

Both handlers (LangChain's callbacks, LlamaIndex's instrumentation) report "run X started under
run Y" and "run X ended"; `SpanBook` turns that into `observe` spans. A run whose parent is not
a run of the framework nests under the `observe` span current at its start (an `@observe`
function calling the chain), or starts a trace. While a run is open its span is the current
`observe` span in the context that started it, so code inside it (a tool calling
`llmdeck.client`, an `@observe` function, an HTTP client with `event_hooks()`) joins it.

Tokens and cost: a call that went through the gateway is recorded by the gateway's own span, the
child of the framework's span (see `propagate`). That span carries the tokens and the cost; the
framework's span keeps what the framework reported under the attribute `framework_usage`, so a
trace's totals count each call once. A call that did not reach the gateway (no hooked client,
or another endpoint) keeps the framework's token counts on the framework's span.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from llmdeck.observe import VIA_GATEWAY, ActiveSpan, SpanKind, Tracer, observe

_USAGE = ("input_tokens", "output_tokens", "cached_tokens")


class SpanBook:
    """Open spans keyed by the framework's run ids (thread-safe)."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.tracer = tracer or observe
        self._open: dict[Hashable, ActiveSpan] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether the tracer records (`observe.configure()` was called)."""
        return self.tracer.enabled

    def start(
        self,
        run: Hashable,
        parent: Hashable | None,
        name: str,
        kind: SpanKind,
        input: Any = None,
        **fields: Any,
    ) -> ActiveSpan | None:
        """Open a span for `run` under `parent`'s span; it becomes the current span here."""
        if not self.tracer.enabled:
            return None
        with self._lock:
            above = self._open.get(parent) if parent is not None else None
        lineage = above.traceparent() if above is not None else None
        span = self.tracer.span(name, kind=kind, input=input, parent=lineage, **fields)
        span.__enter__()
        with self._lock:
            self._open[run] = span
        return span

    def get(self, run: Hashable) -> ActiveSpan | None:
        """The open span of `run`."""
        with self._lock:
            return self._open.get(run)

    def end(
        self,
        run: Hashable,
        *,
        error: BaseException | str | None = None,
        usage: dict[str, int] | None = None,
        **fields: Any,
    ) -> ActiveSpan | None:
        """Close `run`'s span with these fields (output, model, ...). `usage` (input_tokens,
        output_tokens, cached_tokens) goes on the span unless the gateway's span carries it."""
        with self._lock:
            span = self._open.pop(run, None)
        if span is None:
            return None
        if usage:
            put_usage(span, usage)
        span.update(**{k: v for k, v in fields.items() if v is not None})
        if isinstance(error, str):
            span.update(status="error", error=error)
            error = None
        span.__exit__(type(error) if error else None, error, None)
        return span

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


def put_usage(span: ActiveSpan, usage: dict[str, int]) -> None:
    """Token counts on a framework span, or aside if the gateway's span carries them."""
    counts = {k: int(v) for k, v in usage.items() if k in _USAGE and v is not None}
    if span.span.attributes.get(VIA_GATEWAY):
        span.span.attributes["framework_usage"] = counts
    else:
        span.update(**counts)
