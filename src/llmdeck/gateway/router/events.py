"""Circuit state changes as events: a log line, and a span of kind "other" in the trace store
(`attributes.event == "circuit"`), so they show next to the calls they affected.

`announce` is the one place events leave the router; point `EventSink` elsewhere to move them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmdeck.gateway.call import new_span_id, new_trace_id
from llmdeck.gateway.router.circuit import Transition
from llmdeck.observe import Recorder, Span

log = logging.getLogger("llmdeck.router")

EventSink = Callable[[Transition, str], None]
"""Receives a transition and the alias of its deployment."""


def announce(transition: Transition, alias: str, sink: EventSink | None) -> None:
    """Log a circuit change and hand it to the sink."""
    level = logging.WARNING if transition.after == "open" else logging.INFO
    log.log(
        level,
        "circuit of %s (%s): %s -> %s: %s",
        transition.deployment,
        alias,
        transition.before,
        transition.after,
        transition.reason,
    )
    if sink is not None:
        sink(transition, alias)


def event_span(transition: Transition, alias: str) -> Span:
    """The span recording a circuit change."""
    return Span(
        id=new_span_id(),
        trace_id=new_trace_id(),
        name=f"circuit {transition.deployment}: {transition.before} -> {transition.after}",
        kind="other",
        start_time=transition.at,
        end_time=transition.at,
        status="error" if transition.after == "open" else "ok",
        error=transition.reason if transition.after == "open" else None,
        model_alias=alias,
        deployment=transition.deployment,
        latency_ms=0.0,
        attributes={
            "event": "circuit",
            "from": transition.before,
            "to": transition.after,
            "reason": transition.reason,
        },
    )


def recorder_sink(recorder: Recorder) -> EventSink:
    """A sink writing each event as a span through the write-behind recorder."""

    def sink(transition: Transition, alias: str) -> None:
        recorder.record(event_span(transition, alias))

    return sink
