"""LangChain against a running llmdeck: its own OpenAI and Anthropic classes, the callback
handler, registered prompts and collections."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnablePassthrough
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from tests.integrations.conftest import shape, traces, walk

from llmdeck.errors import BadRequest
from llmdeck.integrations import join_gateway, openai_async_http_client, openai_http_client
from llmdeck.integrations.langchain import (
    LlmdeckCallbackHandler,
    LlmdeckVectorStore,
    load_prompt,
)
from llmdeck.testing import FakeProvider, ToolCall
from llmdeck.testing.server import ServerThread


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def chat_openai(server: ServerThread, **options: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="chat", base_url=f"{server.url}/v1", api_key="x", max_retries=0,
        http_client=openai_http_client(), http_async_client=openai_async_http_client(), **options,
    )  # fmt: skip


def test_rag_chain_is_one_trace_with_prompt_version_cost_and_chunks(traced: ServerThread) -> None:
    handler = LlmdeckCallbackHandler()
    store = LlmdeckVectorStore("docs", base_url=traced.url)
    retriever = store.as_retriever(search_type="hybrid", search_kwargs={"k": 2})
    prompt = load_prompt("rag", label="production", base_url=traced.url)
    chain = (
        {"context": retriever | (lambda docs: [d.page_content for d in docs]),
         "question": RunnablePassthrough()}
        | prompt | chat_openai(traced) | StrOutputParser()
    )  # fmt: skip
    config: Any = {"callbacks": [handler], "tags": ["lc-rag"], "metadata": {"session_id": "s-1"}}
    answer = chain.invoke("where are traces stored?", config=config)
    assert answer == "echo: WHERE ARE TRACES STORED?"  # rendered by llmdeck's Jinja (upper)

    (trace,) = traces(traced, tag="lc-rag")
    spans = list(walk(trace["spans"]))
    kinds = [s["kind"] for s in spans]
    assert kinds.count("retrieval") == 1 and kinds.count("llm") == 2
    retrieval = next(s for s in spans if s["kind"] == "retrieval")
    assert retrieval["input"] == "where are traces stored?"
    assert retrieval["output"][0]["id"] == "d2" and "score" in retrieval["output"][0]
    prompt_span = next(s for s in spans if s["name"] == "ChatPromptTemplate")
    assert (prompt_span["prompt_name"], prompt_span["prompt_version"]) == ("rag", 1)
    model_span = next(s for s in spans if s["name"] == "ChatOpenAI")
    assert (model_span["prompt_name"], model_span["prompt_version"]) == ("rag", 1)
    assert model_span["attributes"]["via_gateway"] is True
    assert model_span["input_tokens"] is None and model_span["cost"] is None
    (gateway,) = model_span["children"]  # the gateway's own span, joined by traceparent
    assert gateway["model_alias"] == "chat" and gateway["deployment"] == "oa"
    assert gateway["cost"] > 0 and gateway["input_tokens"] > 0
    assert trace["cost"] == pytest.approx(gateway["cost"])  # counted once
    assert trace["input_tokens"] == gateway["input_tokens"]
    assert trace["session_id"] == "s-1" and trace["span_count"] == len(spans)


def test_streaming_and_tool_calls_through_the_handler(
    traced: ServerThread, fake: FakeProvider
) -> None:
    handler = LlmdeckCallbackHandler()
    llm = chat_openai(traced, stream_usage=True)
    config: Any = {"callbacks": [handler], "tags": ["lc-stream"]}
    pieces = [c.content for c in llm.stream("hello stream", config=config)]
    assert "".join(str(p) for p in pieces) == "echo: hello stream" and len(pieces) > 2

    fake.set(tool_call=ToolCall(name="weather", arguments={"city": "Paris"}))
    chunks = list(
        llm.bind_tools([weather]).stream("weather?", config={**config, "tags": ["lc-tool"]})
    )
    merged: Any = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert isinstance(merged, AIMessageChunk)
    (call,) = merged.tool_calls
    assert (call["name"], call["args"]) == ("weather", {"city": "Paris"})
    assert weather.invoke(call, config={**config, "tags": ["lc-tool-run"]}).content == (
        "sunny in Paris"
    )

    (streamed,) = traces(traced, tag="lc-stream")
    (model,) = streamed["spans"]
    assert model["output"]["content"] == "echo: hello stream"
    assert model["children"][0]["ttft_ms"] is not None  # the gateway streamed it
    assert streamed["output_tokens"] == model["children"][0]["output_tokens"] > 0
    (tool_call,) = traces(traced, tag="lc-tool")
    assert tool_call["spans"][0]["output"]["tool_calls"][0]["name"] == "weather"
    (tool_run,) = traces(traced, tag="lc-tool-run")
    assert shape(tool_run["spans"]) == [("tool", [])]
    assert tool_run["spans"][0]["output"] == "sunny in Paris"


def test_anthropic_class_streams_and_calls_tools(traced: ServerThread, fake: FakeProvider) -> None:
    claude = ChatAnthropic(model_name="claude-haiku-4-5", base_url=traced.url, api_key="x")
    assert join_gateway(claude) == 2  # it takes no http_client: hook the SDK's own clients
    handler = LlmdeckCallbackHandler()
    config: Any = {"callbacks": [handler], "tags": ["lc-claude"]}
    text = "".join(str(c.content) for c in claude.stream("hi claude", config=config))
    assert text == "echo: hi claude"
    fake.set(tool_call=ToolCall(name="weather", arguments={"city": "Oslo"}))
    reply = claude.bind_tools([weather]).invoke("weather?")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("weather", {"city": "Oslo"})]
    (trace,) = traces(traced, tag="lc-claude")
    assert shape(trace["spans"]) == [("llm", [("llm", [])])]
    assert trace["spans"][0]["children"][0]["model_alias"] == "claude-haiku-4-5"


def test_extensions_reach_the_gateway_through_extra_body(traced: ServerThread) -> None:
    body = {"tags": ["via-extra-body"], "metadata": {"trace_name": "extra", "team": "a"}}
    llm = ChatOpenAI(model="chat", base_url=f"{traced.url}/v1", api_key="x", extra_body=body)
    assert llm.invoke("hi").content == "echo: hi"
    (trace,) = traces(traced, tag="via-extra-body")
    assert trace["name"] == "extra" and trace["metadata"]["team"] == "a"


def test_embeddings_take_text_and_refuse_token_ids(traced: ServerThread) -> None:
    embed = OpenAIEmbeddings(
        model="embed", base_url=f"{traced.url}/v1", api_key="x", check_embedding_ctx_length=False
    )
    vectors = embed.embed_documents(["a gateway", "a trace store"])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    client = openai.OpenAI(base_url=f"{traced.url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="check_embedding_ctx_length=False"):
        client.embeddings.create(model="embed", input=[[101, 2023]])


def test_vector_store_filters_hybrid_search_and_deletes(traced: ServerThread) -> None:
    store = LlmdeckVectorStore.from_texts(
        ["cats purr", "dogs bark", "cats sleep a lot"], collection="lc-store",
        metadatas=[{"animal": "cat"}, {"animal": "dog"}, {"animal": "cat"}],
        ids=["c1", "g1", "c2"], base_url=traced.url,
    )  # fmt: skip
    found = store.similarity_search_with_score("sleeping cats", k=3, filter={"animal": "cat"})
    assert {d.id for d, _ in found} == {"c1", "c2"} and found[0][1] >= found[1][1]
    hybrid = store.as_retriever(search_type="hybrid", search_kwargs={"k": 1}).invoke("bark")
    assert [d.id for d in hybrid] == ["g1"] and hybrid[0].metadata["animal"] == "dog"
    keyword = store.search("purr", "keyword", k=2)
    assert [d.id for d in keyword] == ["c1"]
    assert store.delete(["g1"]) is True
    assert "g1" not in {d.id for d in store.similarity_search("dogs", k=3)}
    with pytest.raises(ValueError, match="search_type must be one of"):
        store.search("x", "mmr")


def test_load_prompt_renders_with_llmdecks_renderer(traced: ServerThread) -> None:
    prompt = load_prompt("rag", base_url=traced.url)
    assert prompt.input_variables == ["context", "question"]
    assert prompt.metadata and prompt.metadata["llmdeck.prompt.version"] == 1
    messages = prompt.invoke({"context": ["a", "b"], "question": "why?"}).to_messages()
    assert [m.content for m in messages] == ["Answer from: [1] a [2] b", "WHY?"]
    with pytest.raises(BadRequest, match="'context' must be a list"):
        prompt.invoke({"context": "not a list", "question": "why?"})
