"""Observability: spans and traces recorded write-behind, scores, events, metrics, analytics;
and the SDK's tracing (`observe`).

Other capabilities record through the `Recorder` they are given (`record`, `record_event`,
`record_score`) and add metrics through `Recorder.metrics`.
"""

from llmdeck.observe.metrics import Metrics, Series
from llmdeck.observe.recorder import Recorder
from llmdeck.observe.sink import HttpSink
from llmdeck.observe.span import VIA_GATEWAY, Event, Score, Span, SpanKind
from llmdeck.observe.spool import Spool
from llmdeck.observe.tracing import ActiveSpan, Tracer, current_span, observe

__all__ = [
    "ActiveSpan",
    "Event",
    "HttpSink",
    "Metrics",
    "Recorder",
    "Spool",
    "Score",
    "Series",
    "Span",
    "VIA_GATEWAY",
    "SpanKind",
    "Tracer",
    "current_span",
    "observe",
]
