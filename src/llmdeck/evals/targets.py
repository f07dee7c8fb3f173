"""What an experiment runs over a dataset: a prompt version with a model, a model alias, a RAG
pipeline on a llmdeck server, or any HTTP endpoint.

    {prompt: support-answer, label: staging}     # or version: 3; model: ALIAS overrides its model
    {model: chat}
    {rag: docs, k: 5}                            # POST {evals.rag_url}/api/rag/query
    {http: https://example.com/answer}           # POST {"input", "variables"}; reads "output"
                                                 # or "answer" from the JSON reply, else the text
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmdeck.errors import LlmdeckError, RateLimited, UpstreamError
from llmdeck.evals.evaluators import Chunk
from llmdeck.evals.items import Item
from llmdeck.gateway import ChatRequest, ChatResponse, Gateway, Message, Principal
from llmdeck.observe import current_span

EVALS = Principal(key_id=None, name="evals", admin=True)


class TargetSpec(BaseModel):
    """A suite's `target:` (exactly one of prompt, model, rag, http)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = None
    label: str | None = None
    version: int | None = Field(default=None, ge=1)
    model: str | None = None
    rag: str | None = None
    k: int = Field(default=5, ge=1, le=100)
    url: str | None = None
    http: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> TargetSpec:
        kinds = [k for k in ("prompt", "rag", "http") if getattr(self, k)]
        if not kinds and not self.model:
            raise ValueError("give one of prompt, model, rag or http")
        if len(kinds) > 1:
            raise ValueError(f"give only one of prompt, model, rag or http (not {kinds})")
        if self.label and self.version:
            raise ValueError("give label or version, not both")
        return self

    @property
    def kind(self) -> str:
        """prompt | model | rag | http."""
        for kind in ("prompt", "rag", "http"):
            if getattr(self, kind):
                return kind
        return "model"

    def describe(self) -> str:
        """One line for people: `prompt support-answer@staging`."""
        if self.prompt:
            ref = f"@v{self.version}" if self.version else f"@{self.label or 'production'}"
            return f"prompt {self.prompt}{ref}" + (f" on {self.model}" if self.model else "")
        if self.rag:
            return f"rag {self.rag}"
        if self.http:
            return f"http {self.http}"
        return f"model {self.model}"


@dataclass(frozen=True)
class Answer:
    """What a target answered, and what it cost."""

    output: str
    chunks: tuple[Chunk, ...] = ()
    cost: float | None = None
    data: Any = None
    trace_id: str | None = None


class TargetError(LlmdeckError):
    """The target failed for this item (recorded with the item; other items go on)."""


class Target(Protocol):
    """Answers one item."""

    async def answer(self, item: Item) -> Answer:
        """The target's answer to `item`; RateLimited asks the runner to back off."""
        ...


@dataclass
class GatewayTarget:
    """A prompt version or a model alias, called through the gateway (routing, cost, traces)."""

    gateway: Gateway
    spec: TargetSpec

    def request(self, item: Item) -> ChatRequest:
        """The chat request for `item`."""
        if self.spec.prompt:
            variables = dict(item.variables)
            if item.input is not None:
                variables.setdefault("input", item.input)
                variables.setdefault("question", item.question)
            if item.context:
                variables.setdefault("context", "\n\n".join(item.context))
            ref = {
                "name": self.spec.prompt,
                "label": None if self.spec.version else (self.spec.label or "production"),
                "version": self.spec.version,
                "variables": variables,
            }
            model = self.spec.model or self.spec.prompt
            return ChatRequest.model_validate({"model": model, "prompt": ref})
        assert self.spec.model is not None
        if isinstance(item.input, list):
            messages = [Message.model_validate(m) for m in item.input]
        else:
            messages = [Message(role="user", content=item.question)]
            if item.context:
                context = "Answer from this context.\n\n" + "\n\n".join(item.context)
                messages.insert(0, Message(role="system", content=context))
        return ChatRequest(model=self.spec.model, messages=messages)

    async def answer(self, item: Item) -> Answer:
        call = self.gateway.new_call("chat", self.request(item), EVALS)
        reply = await self.gateway.handle(call)
        if not isinstance(reply, ChatResponse):
            raise TargetError("the gateway did not return a complete reply")
        text = reply.choices[0].message.text() if reply.choices else ""
        return Answer(text, cost=call.cost, trace_id=call.trace_id)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


@dataclass
class HttpTarget:
    """Any HTTP endpoint (`http`), or a llmdeck server's RAG query route (`rag`)."""

    spec: TargetSpec
    rag_url: str = "http://127.0.0.1:4000"
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=60))

    def _request(self, item: Item) -> tuple[str, dict[str, Any]]:
        if self.spec.rag:
            base = (self.spec.url or self.rag_url).rstrip("/")
            body = {"collection": self.spec.rag, "query": item.question, "k": self.spec.k}
            return base + "/api/rag/query", body
        assert self.spec.http is not None
        return self.spec.http, {"input": item.input, "variables": item.variables}

    async def answer(self, item: Item) -> Answer:
        url, body = self._request(item)
        headers = dict(self.spec.headers)
        span = current_span()
        if span is not None:  # a llmdeck server (or any W3C-traced app) joins the item's trace
            headers["traceparent"] = span.traceparent()
        try:
            response = await self.client.post(
                url, json=body, headers=headers, timeout=self.spec.timeout
            )
        except httpx.HTTPError as exc:
            raise TargetError(f"{url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429:
            raise RateLimited(f"{url} answered 429", retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise UpstreamError(f"{url} answered {response.status_code}")
        if response.status_code >= 400:
            raise TargetError(f"{url} answered {response.status_code}: {response.text[:200]}")
        return _read_answer(response, bool(self.spec.rag))

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def _read_answer(response: httpx.Response, rag: bool) -> Answer:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        if rag:
            raise TargetError("the RAG query answer is not JSON") from None
        return Answer(response.text)
    if not isinstance(data, dict):
        return Answer(response.text, data=data)
    text = data.get("answer", data.get("output", ""))
    chunks = tuple(
        Chunk(
            id=str(c.get("id", "")),
            document_id=str(c.get("document_id", "")),
            text=str(c.get("text", "")),
            score=c.get("score"),
            metadata=c.get("metadata") or {},
        )
        for c in data.get("chunks") or []
        if isinstance(c, dict)
    )
    cost = data.get("cost")
    trace = response.headers.get("x-llmdeck-trace-id")
    return Answer(
        text if isinstance(text, str) else orjson.dumps(text).decode(),
        chunks,
        cost=float(cost) if isinstance(cost, int | float) else None,
        data=data,
        trace_id=trace,
    )
