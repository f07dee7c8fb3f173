"""Answering: retrieved chunks fill a prompt (a registered one, or the built-in template), the
answer model replies through the gateway, and the reply is tied back to the chunks it used as
citations (document, character offsets, score). Also the LLM reranker, which asks a model
through the gateway to order the candidates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llmdeck.config import PromptChoice
from llmdeck.gateway import ChatRequest, ChatResponse, Message
from llmdeck.rag.types import Citation, Retrieved
from llmdeck.replies import json_object

SYSTEM = (
    "Answer the question from the numbered passages only, citing them like [1]. "
    "If they do not hold the answer, say that you do not know."
)

_MARKER = re.compile(r"\[(\d{1,3})\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def context_text(chunks: Sequence[Retrieved]) -> str:
    """The passages as the prompt shows them: `[n] text`, one paragraph each. Text a better
    passage of the same document already shows (the overlap of neighbouring chunks) is left
    out, so the model does not read, or repeat, it twice."""
    shown: dict[str, list[tuple[int, int]]] = {}
    parts = []
    for i, chunk in enumerate(chunks, 1):
        parts.append(f"[{i}] {_unseen(chunk, shown.setdefault(chunk.document_id, [])).strip()}")
    return "\n\n".join(parts)


def _unseen(chunk: Retrieved, seen: list[tuple[int, int]]) -> str:
    start, end = chunk.metadata.get("start"), chunk.metadata.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or end - start != len(chunk.text):
        return chunk.text
    first, last = start, end
    for s, e in seen:
        if s <= first < e:
            first = e
        if s < last <= e:
            last = s
    seen.append((start, end))
    return chunk.text[first - start : last - start] if first < last else ""


def chat_request(
    question: str,
    chunks: Sequence[Retrieved],
    model: str,
    prompt: PromptChoice | None,
    *,
    stream: bool = False,
) -> ChatRequest:
    """The answer request: the registered prompt rendered with `question` and `context`, or
    the built-in template (the passages in the system message, the question as the user's)."""
    context = context_text(chunks)
    if prompt is not None:
        ref = {
            "name": prompt.name,
            "label": prompt.label,
            "version": prompt.version,
            "variables": {"question": question, "context": context},
        }
        return ChatRequest.model_validate(
            {"model": model, "messages": [], "prompt": ref, "stream": stream, "tags": ["rag"]}
        )
    messages = [
        Message(role="system", content=f"{SYSTEM}\n\n{context}"),
        Message(role="user", content=question),
    ]
    return ChatRequest(model=model, messages=messages, stream=stream, tags=["rag"], temperature=0)


def reply_text(reply: Any) -> str:
    """The text of a complete chat reply."""
    if not isinstance(reply, ChatResponse) or not reply.choices:
        return ""
    return reply.choices[0].message.text()


def citations(answer: str, chunks: Sequence[Retrieved]) -> list[Citation]:
    """The chunks the answer names as [n] or quotes a sentence of, in marker order; when it
    does neither, every chunk it was given (marked `cited: false`)."""
    named = {int(m) for m in _MARKER.findall(answer)}
    said = " ".join(_MARKER.sub("", answer).split())
    out = []
    for marker, chunk in enumerate(chunks, 1):
        # a passage is quoted when one of its own sentences or lines is in the answer
        pieces = (" ".join(p.split()) for p in _SENTENCE.split(chunk.text))
        quoted = any(len(p) > 20 and p in said for p in pieces)
        out.append(_citation(marker, chunk, marker in named or quoted))
    cited = [c for c in out if c.cited]
    return cited or out


def _citation(marker: int, chunk: Retrieved, cited: bool) -> Citation:
    meta = chunk.metadata
    start = meta.get("start")
    end = meta.get("end")
    return Citation(
        marker=marker,
        chunk_id=chunk.id,
        document_id=chunk.document_id,
        source=str(meta.get("source") or ""),
        title=str(meta.get("title") or ""),
        start=int(start) if isinstance(start, int) else 0,
        end=int(end) if isinstance(end, int) else len(chunk.text),
        score=chunk.score,
        cited=cited,
    )


RERANK = """Order the passages by how well they answer the question, best first.
Reply with JSON only: {{"order": [passage numbers]}}

Question: {question}

{passages}"""


def rerank_request(question: str, chunks: Sequence[Retrieved], model: str) -> ChatRequest:
    """The LLM reranker's request."""
    passages = "\n\n".join(f"[{i}] {c.text.strip()[:1200]}" for i, c in enumerate(chunks, 1))
    content = RERANK.format(question=question, passages=passages)
    return ChatRequest(
        model=model,
        messages=[Message(role="user", content=content)],
        temperature=0,
        tags=["rag", "rerank"],
    )


def reranked(reply: str, chunks: Sequence[Retrieved]) -> list[Retrieved] | None:
    """The chunks in the order the model gave (those it left out keep their order after);
    None if the reply cannot be read."""
    data = json_object(reply)
    order = data.get("order") if data is not None else None
    if not isinstance(order, list) or not all(isinstance(n, int) for n in order):
        return None
    picked = list(dict.fromkeys(n - 1 for n in order if 1 <= n <= len(chunks)))
    rest = [i for i in range(len(chunks)) if i not in picked]
    return [chunks[i] for i in picked + rest]
