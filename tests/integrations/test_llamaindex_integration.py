"""LlamaIndex against a running llmdeck: its OpenAI-like LLM and OpenAI embeddings, the
instrumentation handler, registered prompts and collections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai_like import OpenAILike
from tests.integrations.conftest import traces, walk

from llmdeck.errors import BadRequest
from llmdeck.integrations import openai_async_http_client, openai_http_client
from llmdeck.integrations.llamaindex import (
    Instrumentation,
    LlmdeckRetriever,
    instrument,
    load_prompt,
)
from llmdeck.testing import FakeProvider, ToolCall
from llmdeck.testing.server import ServerThread


@pytest.fixture
def handler(traced: ServerThread) -> Iterator[Instrumentation]:
    attached = instrument()
    yield attached
    attached.detach()


def llm(server: ServerThread) -> OpenAILike:
    return OpenAILike(
        model="chat", api_base=f"{server.url}/v1", api_key="x", is_chat_model=True,
        is_function_calling_model=True, max_retries=0,
        http_client=openai_http_client(), async_http_client=openai_async_http_client(),
    )  # fmt: skip


def test_query_engine_is_one_trace_with_prompt_version_cost_and_nodes(
    traced: ServerThread, handler: Instrumentation
) -> None:
    retriever = LlmdeckRetriever("docs", base_url=traced.url, similarity_top_k=2, mode="hybrid")
    prompt = load_prompt("qa", base_url=traced.url)
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm(traced), text_qa_template=prompt)
    assert str(engine.query("where are traces stored?")) == "echo: where are traces stored?"

    (trace,) = traces(traced, name="RetrieverQueryEngine.query")
    spans = list(walk(trace["spans"]))
    retrieval = next(s for s in spans if s["name"] == "LlmdeckRetriever.retrieve")
    assert retrieval["kind"] == "retrieval" and retrieval["output"][0]["id"] == "d2"
    (model,) = [s for s in spans if s["kind"] == "llm" and s["model_alias"] is None]
    assert (model["prompt_name"], model["prompt_version"]) == ("qa", 1)
    assert model["attributes"]["via_gateway"] is True and model["cost"] is None
    (gateway,) = model["children"]
    assert gateway["model_alias"] == "chat" and gateway["cost"] > 0
    assert trace["cost"] == pytest.approx(gateway["cost"])
    assert trace["input_tokens"] == gateway["input_tokens"]


def test_streaming_and_tool_calls(
    traced: ServerThread, handler: Instrumentation, fake: FakeProvider
) -> None:
    model = llm(traced)
    deltas = [r.delta for r in model.stream_chat([ChatMessage(role="user", content="hi there")])]
    assert "".join(d or "" for d in deltas) == "echo: hi there"
    (trace,) = traces(traced, name="OpenAILike.stream_chat")
    (span,) = trace["spans"]
    assert span["kind"] == "llm" and span["output"]["content"] == "echo: hi there"
    assert span["children"][0]["ttft_ms"] is not None

    fake.set(tool_call=ToolCall(name="weather", arguments={"city": "Rome"}))
    tool = FunctionTool.from_defaults(lambda city: f"sunny in {city}", name="weather")
    reply = model.chat_with_tools([tool], user_msg="weather?")
    (selection,) = model.get_tool_calls_from_response(reply, error_on_no_tool_call=True)
    assert (selection.tool_name, selection.tool_kwargs) == ("weather", {"city": "Rome"})


def test_embeddings_and_retriever_filter(traced: ServerThread) -> None:
    embed = OpenAIEmbedding(model_name="embed", api_base=f"{traced.url}/v1", api_key="x")
    assert len(embed.get_text_embedding("a gateway")) == 384
    retriever = LlmdeckRetriever("docs", base_url=traced.url, filter={"topic": "ops"})
    (node,) = retriever.retrieve("where are limits kept?")
    assert node.node.node_id == "d3" and node.node.metadata == {"topic": "ops"}
    assert node.score is not None


def test_load_prompt_renders_with_llmdecks_renderer(traced: ServerThread) -> None:
    prompt = load_prompt("qa", base_url=traced.url)
    assert prompt.template_vars == ["context_str", "query_str"]
    messages = prompt.partial_format(context_str="C").format_messages(query_str="Q?")
    assert [(m.role.value, m.content) for m in messages] == [
        ("system", "Context: C"),
        ("user", "Q?"),
    ]
    with pytest.raises(BadRequest, match="query_str"):
        prompt.format_messages(context_str="C")
