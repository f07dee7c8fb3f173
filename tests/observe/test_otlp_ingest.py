"""Real OpenTelemetry spans (the official SDK and OTLP/HTTP exporter) come back through the API."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from tests.observe.conftest import get

from llmdeck.testing.server import ServerThread


def provider_for(server: ServerThread, **exporter: Any) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    endpoint = f"{server.url}/otlp/v1/traces"
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint, **exporter)))
    return provider


def only_span(trace: dict[str, Any]) -> dict[str, Any]:
    (span,) = trace["spans"]
    return span


def test_genai_spans_from_the_otel_sdk(server: ServerThread) -> None:
    provider = provider_for(server)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("agent run") as root:
        root.set_attribute("session.id", "s-1")
        root.set_attribute("user.id", "u-7")
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.request.temperature": 0.3,
                    "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 42,
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "hi there"}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]
                    ),
                }
            )
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()

    trace = get(server, f"/api/traces/{trace_id}")
    assert trace["name"] == "agent run"
    assert (trace["session_id"], trace["user_id"]) == ("s-1", "u-7")
    assert trace["span_count"] == 2 and trace["input_tokens"] == 120
    (root_span,) = trace["spans"]
    assert root_span["attributes"]["service"] == "shop"
    (llm,) = root_span["children"]
    assert llm["kind"] == "llm" and llm["model"] == "gpt-4o-2024-08-06"
    assert llm["provider"] == "openai"
    assert (llm["input_tokens"], llm["output_tokens"]) == (120, 42)
    assert llm["parameters"] == {"temperature": 0.3}
    assert llm["input"] == [{"role": "user", "content": "hi there"}]
    assert llm["output"] == {"role": "assistant", "content": "hello"}
    assert llm["latency_ms"] >= 0 and llm["status"] == "ok"
    listed = get(server, "/api/traces", session_id="s-1")["data"]
    assert [t["id"] for t in listed] == [trace_id]


def test_openinference_spans_and_errors(server: ServerThread) -> None:
    provider = provider_for(server, compression=None)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("retrieve") as span:
        span.set_attributes(
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": "what is llmdeck?",
                "retrieval.documents.0.document.id": "d1",
                "retrieval.documents.0.document.content": "llmdeck is a platform",
                "retrieval.documents.0.document.score": 0.9,
                "tag.tags": ["docs", "beta"],
            }
        )
        retrieval_trace = format(span.get_span_context().trace_id, "032x")
    with tracer.start_as_current_span("llm") as span:
        span.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "claude-haiku",
                "llm.provider": "anthropic",
                "llm.token_count.prompt": 10,
                "llm.token_count.completion": 3,
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "be brief",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "hi",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "hey",
                "llm.invocation_parameters": json.dumps({"max_tokens": 5}),
            }
        )
        span.set_status(Status(StatusCode.ERROR, "upstream timed out"))
        llm_trace = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()

    retrieval = only_span(get(server, f"/api/traces/{retrieval_trace}"))
    assert retrieval["kind"] == "retrieval" and retrieval["input"] == "what is llmdeck?"
    assert retrieval["output"] == [{"id": "d1", "content": "llmdeck is a platform", "score": 0.9}]
    assert retrieval["tags"] == ["docs", "beta"]
    llm = get(server, f"/api/traces/{llm_trace}")
    assert llm["status"] == "error"
    span = only_span(llm)
    assert span["kind"] == "llm" and span["model"] == "claude-haiku"
    assert span["error"] == "upstream timed out"
    assert span["input"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert span["output"] == {"role": "assistant", "content": "hey"}
    assert span["parameters"] == {"max_tokens": 5}
    tagged = get(server, "/api/traces", tag="docs")["data"]
    assert [t["id"] for t in tagged] == [retrieval_trace]
    failed = get(server, "/api/traces", status="error")["data"]
    assert [t["id"] for t in failed] == [llm_trace]


def otlp_json(trace_id: str, **span: Any) -> dict[str, Any]:
    body = {
        "traceId": trace_id,
        "spanId": "00f067aa0ba902b7",
        "name": "embed docs",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "embeddings"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "text-embed-3"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "64"}},
        ],
        **span,
    }
    return {"resourceSpans": [{"scopeSpans": [{"spans": [body]}]}]}


def test_otlp_json_and_gzip(server: ServerThread) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    body = json.dumps(otlp_json(trace_id)).encode()
    response = httpx.post(
        f"{server.url}/otlp/v1/traces",
        content=gzip.compress(body),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200 and response.json() == {}
    span = only_span(get(server, f"/api/traces/{trace_id}"))
    assert span["kind"] == "embedding" and span["model"] == "text-embed-3"
    assert span["input_tokens"] == 64 and span["start_time"] == 1_700_000_000.0
    assert abs(span["latency_ms"] - 250.0) < 1e-6


def test_bad_otlp_requests_name_the_problem(server: ServerThread) -> None:
    url = f"{server.url}/otlp/v1/traces"
    bad_id = httpx.post(url, json=otlp_json("xyz"))
    assert bad_id.status_code == 400
    assert "resourceSpans[0].scopeSpans[0].spans[0].traceId" in bad_id.json()["error"]["message"]
    garbage = httpx.post(
        url, content=b"\xff\x00garbage", headers={"content-type": "application/x-protobuf"}
    )
    assert garbage.status_code == 400
    assert "protobuf" in garbage.json()["error"]["message"]
