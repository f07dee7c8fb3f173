"""Observability: spans and traces, recorded write-behind; scores, events, metrics, analytics."""

from llmdeck.observe.metrics import Metrics, Series
from llmdeck.observe.recorder import Recorder
from llmdeck.observe.span import Event, Score, Span, SpanKind

__all__ = ["Event", "Metrics", "Recorder", "Score", "Series", "Span", "SpanKind"]
