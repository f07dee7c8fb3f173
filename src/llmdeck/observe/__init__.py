"""Observability: spans and traces, recorded write-behind."""

from llmdeck.observe.recorder import Recorder
from llmdeck.observe.span import Span, SpanKind

__all__ = ["Recorder", "Span", "SpanKind"]
