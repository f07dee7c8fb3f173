"""Export to an OTLP collector with both conventions; nothing lost across shutdown under load."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import func, select

from llmdeck.observe import Span
from llmdeck.observe.otlp import to_protobuf
from llmdeck.observe.otlp.decode import _attributes
from llmdeck.store import open_store, tables
from llmdeck.testing.server import ServerThread


class Collector(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).bodies.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    Collector.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Collector.bodies
    server.shutdown()
    server.server_close()


def test_spans_are_exported_with_genai_openinference_and_cost(
    start_server: Callable[..., ServerThread], collector: tuple[str, list[tuple[str, bytes]]]
) -> None:
    endpoint, bodies = collector
    server = start_server(observe={"export": {"endpoint": endpoint, "headers": {"x-k": "v"}}})
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200
    server.stop()  # flushes the recorder, then the exporter
    ((path, body),) = bodies
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    (span,) = request.resource_spans[0].scope_spans[0].spans
    attrs = _attributes(span.attributes)
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.model"] == "fake-chat"
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["openinference.span.kind"] == "LLM"
    assert attrs["gen_ai.usage.input_tokens"] == attrs["llm.token_count.prompt"] > 0
    assert attrs["llm.cost.total"] == attrs["llmdeck.cost"] > 0
    assert attrs["llm.input_messages.0.message.content"] == "hi"
    assert attrs["llmdeck.model_alias"] == "gpt" and attrs["llmdeck.deployment"] == "oa"
    assert span.trace_id.hex() == response.headers["x-llmdeck-trace-id"]


def test_nothing_is_lost_across_shutdown_under_otlp_load(
    start_server: Callable[..., ServerThread], database_url: str
) -> None:
    server = start_server(database_url=database_url, observe={"queue_size": 2_000})
    senders, batches, size = 4, 10, 100

    def send(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            for b in range(batches):
                spans = [
                    Span(
                        id=f"{worker + 1:04x}{b:04x}{i:08x}",
                        trace_id=f"{worker + 1:016x}{b:016x}",
                        name="s",
                        kind="llm",
                        start_time=1_700_000_000.0 + i,
                    )
                    for i in range(size)
                ]
                while True:  # what an OTLP exporter does on 503: retry after a moment
                    status = client.post(
                        f"{server.url}/otlp/v1/traces",
                        content=to_protobuf(spans),
                        headers={"content-type": "application/x-protobuf"},
                    ).status_code
                    if status == 200:
                        break
                    assert status == 503

    threads = [threading.Thread(target=send, args=(w,)) for w in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.stop()
    recorder = server.runtime.recorder
    assert recorder.dropped == 0 and recorder.failed == 0
    store = open_store(database_url)
    stored = store.read(
        lambda c: c.execute(select(func.count()).select_from(tables.spans)).scalar()
    )
    traces = store.read(lambda c: c.execute(select(tables.traces.c.span_count)).scalars().all())
    store.close()
    assert stored == senders * batches * size
    assert len(traces) == senders * batches and set(traces) == {size}
