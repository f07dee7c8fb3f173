"""The SDK tracer on its own, with an in-memory sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmdeck.observe import Span, Tracer


@pytest.fixture
def tracer() -> Iterator[tuple[Tracer, list[Span]]]:
    spans: list[Span] = []
    yield Tracer().configure(sink=spans.append), spans


def test_disabled_tracer_records_nothing_and_passes_through() -> None:
    off = Tracer()

    @off(kind="tool")
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    with off.span("x") as span:
        span.update(output=1)
    assert off.traceparent() is None and off.headers() == {}


def test_nesting_errors_and_generators(tracer: tuple[Tracer, list[Span]]) -> None:
    observe, spans = tracer

    @observe(kind="tool")
    def words(text: str):  # type: ignore[no-untyped-def]
        yield from text.split()

    @observe
    def fail() -> None:
        raise ValueError("nope")

    with observe.span("root", kind="agent", input="go") as root:
        assert list(words("a b")) == ["a", "b"]
        with pytest.raises(ValueError):
            fail()
        header = observe.traceparent()
    assert header == f"00-{root.trace_id}-{root.id}-01"
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"root", "words", "fail"}
    gen = by_name["words"]
    assert gen.parent_id == root.id and gen.output == "ab" and gen.input == {"text": "a b"}
    failed = by_name["fail"]
    assert failed.status == "error" and failed.error == "ValueError: nope"
    assert by_name["root"].parent_id is None and by_name["root"].end_time is not None


def test_parent_traceparent_continues_a_remote_trace(tracer: tuple[Tracer, list[Span]]) -> None:
    observe, spans = tracer
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with observe.span("handler", parent=incoming):
        pass
    (span,) = spans
    assert (span.trace_id, span.parent_id) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )


def test_sampling_drops_whole_traces() -> None:
    spans: list[Span] = []
    never = Tracer().configure(sink=spans.append, sample_rate=0.0)
    with never.span("root"), never.span("child"):
        assert never.traceparent() is not None and never.traceparent().endswith("-00")  # type: ignore[union-attr]
    assert spans == []
