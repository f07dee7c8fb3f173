"""Circuit state changes as events: a log line, and an event (`circuit.open`, ...) in the
observability store, next to the calls they affected.

`announce` is the one place events leave the router; point `EventSink` elsewhere to move them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmdeck.gateway.router.circuit import Transition
from llmdeck.observe import Event, Recorder

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


def circuit_event(transition: Transition, alias: str) -> Event:
    """The event recording a circuit change (`circuit.open`, `circuit.half_open`, ...)."""
    return Event(
        name=f"circuit.{transition.after.replace('-', '_')}",
        level="warning" if transition.after == "open" else "info",
        message=(
            f"circuit of {transition.deployment} ({alias}): "
            f"{transition.before} -> {transition.after}: {transition.reason}"
        ),
        source="router",
        attributes={
            "deployment": transition.deployment,
            "alias": alias,
            "from": transition.before,
            "to": transition.after,
            "reason": transition.reason,
        },
        time=transition.at,
    )


def recorder_sink(recorder: Recorder) -> EventSink:
    """A sink writing each change as an event through the write-behind recorder."""

    def sink(transition: Transition, alias: str) -> None:
        recorder.record_event(circuit_event(transition, alias))

    return sink
