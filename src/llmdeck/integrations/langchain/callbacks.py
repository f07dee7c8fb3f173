"""`LlmdeckCallbackHandler`: a LangChain run tree as one llmdeck trace.

    from llmdeck.integrations.langchain import LlmdeckCallbackHandler

    handler = LlmdeckCallbackHandler(url="http://127.0.0.1:4000", api_key=KEY)
    chain.invoke({"question": "..."}, config={"callbacks": [handler]})

Chains and prompts become `chain` spans, chat models and LLMs `llm` spans, retrievers
`retrieval` spans (their documents as the output), tools `tool` spans, agents `agent` spans;
the tree follows LangChain's parent run ids. The handler runs inline (`run_inline`), so while a
run is open its span is the current `observe` span of the code it runs: an OpenAI client built
with `llmdeck.integrations.openai_http_client()` then sends its `traceparent`, and the gateway's
span for the call is the child of the chat model's span and carries the tokens and the cost
(`SpanBook`). A prompt from `load_prompt` puts its name and version on its own span and on the
model call that follows it in the same chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from llmdeck.integrations.langchain import convert
from llmdeck.integrations.registry import PROMPT_NAME, PROMPT_VERSION
from llmdeck.integrations.spans import SpanBook
from llmdeck.observe import SpanKind, Tracer, observe

_TRACE_KEYS = {"session_id": "session_id", "user_id": "user_id", "trace_name": "trace_name"}


def _name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    if kwargs.get("name"):
        return str(kwargs["name"])
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


class LlmdeckCallbackHandler(BaseCallbackHandler):
    """Records LangChain runs as llmdeck spans through `observe` (configured here if it is not
    yet: `url`/`api_key` default to $LLMDECK_URL and $LLMDECK_API_KEY)."""

    run_inline = True  # the spans must be current in the run's own context (see module doc)
    raise_error = False  # tracing never breaks the application

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        tracer: Tracer | None = None,
        service: str = "langchain",
    ) -> None:
        self.tracer = tracer or observe
        if not self.tracer.enabled:
            self.tracer.configure(url=url, api_key=api_key, service=service)
        self.book = SpanBook(self.tracer)
        self._prompts: dict[UUID, tuple[str, int]] = {}

    # chains (and prompts, which LangChain reports as chains of run type "prompt")

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: dict[str, Any] | Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain, a prompt or an agent starts."""
        name = _name(serialized, kwargs, "chain")
        kind: SpanKind = "agent" if "agent" in name.lower() else "chain"
        fields = self._root_fields(parent_run_id, tags, metadata)
        meta = metadata or {}
        if meta.get(PROMPT_NAME):
            fields.update(prompt_name=meta[PROMPT_NAME], prompt_version=meta.get(PROMPT_VERSION))
        self.book.start(run_id, parent_run_id, name, kind, convert.plain(inputs), **fields)
        if parent_run_id is not None and meta.get(PROMPT_NAME):
            self._prompts[parent_run_id] = (meta[PROMPT_NAME], int(meta[PROMPT_VERSION]))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain ends."""
        self.book.end(run_id, output=convert.plain(outputs))
        self._prompts.pop(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain fails."""
        self.book.end(run_id, error=error)
        self._prompts.pop(run_id, None)

    # models

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chat model call starts."""
        given = [convert.message(m) for m in messages[0]] if messages else []
        self._start_llm(serialized, given, run_id, parent_run_id, tags, metadata, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A text-completion model call starts."""
        given = prompts[0] if len(prompts) == 1 else prompts
        self._start_llm(serialized, given, run_id, parent_run_id, tags, metadata, kwargs)

    def _start_llm(
        self,
        serialized: dict[str, Any] | None,
        given: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        meta = metadata or {}
        invocation = kwargs.get("invocation_params") or {}
        fields = self._root_fields(parent_run_id, tags, metadata)
        fields.update(
            model=invocation.get("model")
            or invocation.get("model_name")
            or meta.get("ls_model_name"),
            provider=meta.get("ls_provider"),
            parameters=convert.parameters(invocation),
        )
        extensions = convert.extensions(invocation)
        if extensions:
            fields["llmdeck_extensions"] = extensions
        if parent_run_id in self._prompts:
            fields["prompt_name"], fields["prompt_version"] = self._prompts[parent_run_id]
        name = _name(serialized, kwargs, "llm")
        self.book.start(run_id, parent_run_id, name, "llm", given, **fields)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """A model call ends: its reply, and the token counts the framework saw."""
        output, usage, model = convert.reply(response)
        fields: dict[str, Any] = {"output": output}
        span = self.book.get(run_id)
        if model and span is not None and span.span.model != model:
            fields["response_model"] = model
        self.book.end(run_id, usage=usage, **fields)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A model call fails."""
        self.book.end(run_id, error=error)

    # retrievers and tools

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever starts."""
        fields = self._root_fields(parent_run_id, tags, metadata)
        name = _name(serialized, kwargs, "retriever")
        self.book.start(run_id, parent_run_id, name, "retrieval", query, **fields)

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A retriever ends: the documents, with ids, scores and metadata."""
        self.book.end(run_id, output=[convert.document(d) for d in documents])

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A retriever fails."""
        self.book.end(run_id, error=error)

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool starts."""
        fields = self._root_fields(parent_run_id, tags, metadata)
        name = _name(serialized, kwargs, "tool")
        given = convert.plain(inputs) if inputs is not None else input_str
        self.book.start(run_id, parent_run_id, name, "tool", given, **fields)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A tool ends."""
        result = getattr(output, "content", output)
        self.book.end(run_id, output=convert.plain(result))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A tool fails."""
        self.book.end(run_id, error=error)

    def _root_fields(
        self,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A root run's tags and metadata describe the trace (LangChain's own step tags and
        `ls_*` keys are left out)."""
        if parent_run_id is not None:
            return {}
        fields: dict[str, Any] = {}
        own = [t for t in tags or [] if not t.startswith(("seq:", "map:", "branch:"))]
        if own:
            fields["tags"] = own
        meta = {k: v for k, v in (metadata or {}).items() if not k.startswith(("ls_", "llmdeck."))}
        for key, field in _TRACE_KEYS.items():
            if meta.get(key) is not None:
                fields[field] = str(meta.pop(key))
        if meta:
            fields["trace_metadata"] = convert.plain(meta)
        return fields

    def flush(self, timeout: float = 30.0) -> bool:
        """Send the recorded spans now (they go in the background otherwise)."""
        return self.tracer.flush(timeout)
