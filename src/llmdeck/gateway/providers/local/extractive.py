"""An extractive answerer: replies with the context sentences most relevant to the question.

It needs no model and no network, so the embedded defaults answer RAG questions offline. The
context is the text of the system and user messages; the question is the last user turn (its
last line ending in "?" when the turn also carries context).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from llmdeck.gateway.wire.openai import ChatRequest

NO_ANSWER = "I could not find an answer to that in the given context."

# sentence ends, blank lines, and lines that start list items, headings or table rows
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n\s*\n|\n(?=\s*[-*#\d|])")
_WORD = re.compile(r"[a-z0-9]+")
_MARKER = re.compile(r"^\[\d+\]\s*")  # a passage's number in a RAG prompt: "[2] text"
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "about",
        "into",
        "than",
        "then",
        "so",
        "if",
        "not",
        "no",
        "yes",
        "we",
        "our",
        "us",
        "my",
        "me",
    ]
)


@dataclass(frozen=True)
class Answer:
    """The chosen sentences, in their original order."""

    text: str
    sentences: tuple[str, ...]


def _terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def split_question(request: ChatRequest) -> tuple[str, str]:
    """(question, context) from the request's messages."""
    users = [m.text() for m in request.messages if m.role == "user"]
    context_parts = [m.text() for m in request.messages if m.role in ("system", "developer")]
    if not users:
        return "", "\n\n".join(context_parts)
    last = users[-1].strip()
    lines = [line.strip() for line in last.splitlines() if line.strip()]
    asks = [line for line in lines if line.endswith("?")]
    if len(lines) > 1 and asks:
        question = asks[-1]
        rest = "\n".join(line for line in lines if line is not question)
        context_parts.append(rest)
    else:
        question = last
    context_parts.extend(users[:-1])
    return question, "\n\n".join(p for p in context_parts if p)


def sentences(text: str) -> list[str]:
    """Split text into sentences and list items (without the passage numbers RAG prompts put
    before each passage: they label the context, they are not part of it)."""
    found = (_MARKER.sub("", s.strip()) for s in _SENTENCE.split(text) if s)
    return [s for s in found if s]


def answer(request: ChatRequest, *, max_sentences: int = 3, max_chars: int | None = None) -> Answer:
    """The context sentences that best match the question (BM25 over sentences)."""
    question, context = split_question(request)
    candidates = sentences(context)
    # a heading names a topic, it does not say anything about it
    candidates = [s for s in candidates if not s.startswith("#")] or candidates
    query = set(_terms(question))
    if not candidates or not query:
        return Answer(NO_ANSWER, ())
    docs = [_terms(s) for s in candidates]
    scores = _bm25(query, docs)
    ranked = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    chosen = [i for i in ranked[:max_sentences] if scores[i] > 0]
    if not chosen:
        return Answer(NO_ANSWER, ())
    picked = tuple(candidates[i] for i in sorted(chosen))
    text = " ".join(picked)
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
    return Answer(text, picked)


def _bm25(query: set[str], docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> list[float]:
    n = len(docs)
    average = sum(len(d) for d in docs) / n or 1.0
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(set(doc))
    scores = []
    for doc in docs:
        counts = Counter(doc)
        score = 0.0
        for term in query:
            tf = counts.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average))
        scores.append(score)
    return scores
