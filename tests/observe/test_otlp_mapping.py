"""llmdeck's OTLP encoding reads back exactly; unknown attributes survive the mapping."""

from __future__ import annotations

import pytest

from llmdeck.observe import Span
from llmdeck.observe.otlp import from_json, from_protobuf, to_json, to_protobuf, to_span
from llmdeck.observe.otlp.decode import WireSpan
from llmdeck.observe.otlp.mapping import to_span as map_span

SPAN = Span(
    id="1" * 16,
    trace_id="a" * 32,
    parent_id="2" * 16,
    name="chat gpt",
    kind="llm",
    start_time=100.5,
    end_time=101.25,
    model_alias="gpt",
    model="fake-chat",
    deployment="oa",
    provider="openai",
    key_id="k1",
    input=[{"role": "user", "content": "hi"}],
    output={"role": "assistant", "content": "echo: hi"},
    input_tokens=10,
    output_tokens=5,
    cached_tokens=2,
    cost=0.01,
    tags=["a"],
    session_id="s1",
    user_id="u",
    trace_name="T",
    trace_metadata={"x": 1},
    parameters={"temperature": 0.2},
    attributes={"route": "priority"},
    ttft_ms=12.5,
    http_status=200,
    status="error",
    error="boom",
    latency_ms=750.0,
    prompt_name="p",
    prompt_version=3,
    cache="miss",
)


@pytest.mark.parametrize("codec", [(to_protobuf, from_protobuf), (to_json, from_json)])
def test_round_trip_is_exact(codec: tuple[object, object]) -> None:
    encode, decode = codec
    (wire,) = decode(encode([SPAN]))  # type: ignore[operator]
    assert to_span(wire) == SPAN


def test_numbered_attributes_of_others_are_kept() -> None:
    wire = WireSpan(
        trace_id="a" * 32,
        span_id="1" * 16,
        parent_id=None,
        name="x",
        kind=1,
        start_ns=1,
        end_ns=2,
        attributes={"shard.3.name": "s3", "llm.input_messages.0.message.role": "user"},
    )
    span = map_span(wire)
    assert span.attributes == {"shard.3.name": "s3"}
    assert span.input == [{"role": "user"}]
