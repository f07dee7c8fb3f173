"""The OpenTelemetry route (OpenInference's LangChain instrumentor exporting to /otlp/v1/traces)
and the callback handler give the same trace shape for the same chain."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_openai import ChatOpenAI
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from tests.integrations.conftest import traces

from llmdeck.integrations.langchain import LlmdeckCallbackHandler
from llmdeck.testing.server import ServerThread


def _framework_shape(spans: list[dict[str, Any]]) -> list[Any]:
    """(kind, name, children) without the gateway's own spans (which carry a model alias)."""
    return [
        (s["kind"], s["name"], _framework_shape(s["children"]))
        for s in spans
        if s["model_alias"] is None
    ]


def _chain(server: ServerThread) -> Runnable[Any, Any]:
    llm = ChatOpenAI(model="chat", base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    return RunnableLambda(lambda q: q, name="lookup") | llm | StrOutputParser()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the instrumentor's own
def test_openinference_and_handler_give_the_same_shape(traced: ServerThread) -> None:
    chain = _chain(traced)
    chain.invoke("via handler", config={"callbacks": [LlmdeckCallbackHandler()],
                                        "run_name": "handler-route"})  # fmt: skip

    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{traced.url}/otlp/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        chain.invoke("via otel", config={"run_name": "otel-route"})
        provider.force_flush()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    (handler,) = traces(traced, name="handler-route")
    (otel,) = traces(traced, name="otel-route")
    ((h_kind, _, h_children),) = _framework_shape(handler["spans"])
    ((o_kind, _, o_children),) = _framework_shape(otel["spans"])
    assert h_kind == o_kind == "chain"
    assert h_children == o_children == [
        ("chain", "lookup", []), ("llm", "ChatOpenAI", []), ("chain", "StrOutputParser", []),
    ]  # fmt: skip
