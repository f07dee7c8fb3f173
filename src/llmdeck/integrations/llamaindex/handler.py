"""LlamaIndex's instrumentation as llmdeck spans: a span handler and an event handler.

    from llmdeck.integrations.llamaindex import instrument

    instrument(url="http://127.0.0.1:4000", api_key=KEY)   # the root dispatcher, once

Every span LlamaIndex opens (`@dispatcher.span` methods) becomes a llmdeck span in the same
tree, its kind from the component: LLMs `llm`, embedding models `embedding`, retrievers
`retrieval` (nodes as the output), postprocessors `rerank`, tools `tool`, query engines and the
rest `chain`. The event handler adds what only events carry: the model and the token counts of
a chat or completion, and the retrieved nodes. A streamed LLM call's span lasts until its stream
ends. While a span is open it is the current `observe` span, so an OpenAI or Anthropic client
with llmdeck's hooks sends its `traceparent` and the gateway's span joins as its child (which
then carries the tokens and the cost, see `SpanBook`).
"""

from __future__ import annotations

import inspect
from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.retrieval import RetrievalEndEvent
from llama_index.core.instrumentation.span import BaseSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index_instrumentation import get_dispatcher
from pydantic import PrivateAttr

from llmdeck.integrations.llamaindex import convert
from llmdeck.integrations.registry import PROMPT_NAME, PROMPT_VERSION
from llmdeck.integrations.spans import SpanBook, put_usage
from llmdeck.observe import Tracer, observe

_ID_SUFFIX = 37  # "-" and a UUID: LlamaIndex's span ids are "Class.method-<uuid4>"


class LlmdeckSpanHandler(BaseSpanHandler[BaseSpan]):
    """Opens and closes llmdeck spans as LlamaIndex's dispatcher does."""

    _book: SpanBook = PrivateAttr()
    _streams: set[str] = PrivateAttr(default_factory=set)
    _same_call: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, book: SpanBook) -> None:
        super().__init__()
        self._book = book

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name for this handler."""
        return "LlmdeckSpanHandler"

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """A component's method starts."""
        kind = convert.kind_of(instance)
        if kind == "llm" and parent_span_id is not None:
            outer = self.resolve(parent_span_id)
            above = self._book.get(outer)
            if above is not None and above.span.kind == "llm":
                # predict() -> chat() -> the subclass's chat(): one model call, one span
                self._same_call[id_] = outer
                return BaseSpan(id_=id_, parent_id=parent_span_id)
        fields: dict[str, Any] = {}
        prompt = bound_args.arguments.get("prompt")
        meta = getattr(prompt, "metadata", None) or {}
        if meta.get(PROMPT_NAME):
            fields.update(prompt_name=meta[PROMPT_NAME], prompt_version=meta.get(PROMPT_VERSION))
        if kind == "llm":
            fields["model"] = getattr(instance, "model", None)
        name = id_[:-_ID_SUFFIX] if len(id_) > _ID_SUFFIX else id_
        given = convert.inputs(bound_args.arguments)
        if self._book.start(id_, parent_span_id, name, kind, given, **fields) is None:
            return None
        return BaseSpan(id_=id_, parent_id=parent_span_id)

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """A method returns; a streamed LLM call stays open until its end event."""
        mine = self.open_spans.get(id_)
        if id_ in self._same_call:  # the outer method closes the call
            return mine
        span = self._book.get(id_)
        if span is not None and span.span.kind == "llm" and convert.is_stream(result):
            self._streams.add(id_)
        else:
            self._close(id_, output=convert.plain(result))
        return mine

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """A method raises."""
        mine = self.open_spans.get(id_)
        if id_ not in self._same_call:
            self._streams.discard(id_)
            self._close(id_, error=err)
        return mine

    def finish_stream(self, span_id: str, **fields: Any) -> bool:
        """Close a streamed call's span (its end event came); False if it was not one."""
        span_id = self.resolve(span_id)
        if span_id not in self._streams:
            return False
        self._streams.discard(span_id)
        self._close(span_id, **fields)
        return True

    def _close(self, span_id: str, **fields: Any) -> None:
        for inner in [k for k, v in self._same_call.items() if v == span_id]:
            del self._same_call[inner]
        self._book.end(span_id, **fields)

    def resolve(self, span_id: str) -> str:
        """The span that records `span_id` (an inner method of one model call: the outer's)."""
        return self._same_call.get(span_id, span_id)


class LlmdeckEventHandler(BaseEventHandler):
    """Adds models, token counts and retrieved nodes from LlamaIndex's events."""

    _book: SpanBook = PrivateAttr()
    _spans: LlmdeckSpanHandler = PrivateAttr()

    def __init__(self, book: SpanBook, spans: LlmdeckSpanHandler) -> None:
        super().__init__()
        self._book = book
        self._spans = spans

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name for this handler."""
        return "LlmdeckEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """One event: fill in the span it belongs to."""
        span_id = self._spans.resolve(event.span_id or "")
        if isinstance(event, LLMChatStartEvent | LLMCompletionStartEvent):
            span = self._book.get(span_id)
            model = event.model_dict.get("model")
            if span is not None and model:
                span.update(model=str(model))
        elif isinstance(event, LLMChatEndEvent | LLMCompletionEndEvent):
            self._llm_end(span_id, event.response)
        elif isinstance(event, RetrievalEndEvent):
            span = self._book.get(span_id)
            if span is not None:
                span.update(output=[convert.node(n) for n in event.nodes])

    def _llm_end(self, span_id: str, response: Any) -> None:
        counts = convert.usage(response) if response is not None else {}
        output = convert.plain(response)
        if self._spans.finish_stream(span_id, output=output, usage=counts):
            return
        span = self._book.get(span_id)
        if span is not None and counts:
            put_usage(span, counts)


class Instrumentation:
    """What `instrument()` attached, to detach it again."""

    def __init__(self, book: SpanBook, dispatcher_name: str | None) -> None:
        self.book = book
        self.spans = LlmdeckSpanHandler(book)
        self.events = LlmdeckEventHandler(book, self.spans)
        self.dispatcher = get_dispatcher(dispatcher_name) if dispatcher_name else get_dispatcher()

    def attach(self) -> Instrumentation:
        """Add both handlers to the dispatcher."""
        self.dispatcher.add_span_handler(self.spans)
        self.dispatcher.add_event_handler(self.events)
        return self

    def detach(self) -> None:
        """Remove both handlers."""
        if self.spans in self.dispatcher.span_handlers:
            self.dispatcher.span_handlers.remove(self.spans)
        if self.events in self.dispatcher.event_handlers:
            self.dispatcher.event_handlers.remove(self.events)

    def flush(self, timeout: float = 30.0) -> bool:
        """Send the recorded spans now."""
        return self.book.tracer.flush(timeout)


def instrument(
    url: str | None = None,
    api_key: str | None = None,
    *,
    tracer: Tracer | None = None,
    service: str = "llamaindex",
    dispatcher: str | None = None,
) -> Instrumentation:
    """Record LlamaIndex's spans (the root dispatcher's, or `dispatcher`'s) as llmdeck traces
    through `observe` (configured here if it is not yet; `url`/`api_key` default to
    $LLMDECK_URL and $LLMDECK_API_KEY). `.detach()` stops it."""
    chosen = tracer or observe
    if not chosen.enabled:
        chosen.configure(url=url, api_key=api_key, service=service)
    return Instrumentation(SpanBook(chosen), dispatcher).attach()
