"""Test-set generation: question/answer drafts from a collection's chunks, written by a model
through the gateway, saved as a draft dataset for a person to review before it joins a dataset.

Chunks are sampled by searching with random directions (seeded), which spreads the sample over
the collection without reading all of it. A reply that cannot be read skips its chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llmdeck.evals.evaluators import Chunk
from llmdeck.evals.items import Item
from llmdeck.evals.service import Evals
from llmdeck.replies import json_object
from llmdeck.vectors import Collection

PROMPT = """Write one question that the passage below answers, and the answer, using only the
passage. Reply with JSON only: {{"question": "...", "answer": "..."}}.

Passage:
<<<
{passage}
>>>"""


def sample_chunks(collection: Collection, n: int, seed: int = 0) -> list[Chunk]:
    """Up to `n` distinct chunks of a collection, spread by random search directions."""
    rng = np.random.default_rng(seed)
    found: dict[str, Chunk] = {}
    for _ in range(max(3, 3 * n)):
        if len(found) >= n:
            break
        direction = rng.standard_normal(collection.spec.dim).astype(np.float32)
        for hit in collection.search(vector=direction / np.linalg.norm(direction), k=3):
            if hit.id not in found and hit.text.strip():
                document = hit.metadata.get("document_id", hit.id)
                found[hit.id] = Chunk(hit.id, str(document), hit.text, hit.score, hit.metadata)
                break
    return list(found.values())[:n]


@dataclass(frozen=True)
class Drafted:
    """Draft items, and the chunks whose reply could not be read."""

    items: list[Item]
    skipped: list[str]


def read_pair(reply: str) -> tuple[str, str] | None:
    """(question, answer) from a model's reply, or None."""
    data = json_object(reply)
    if data is None:
        return None
    question, answer = data.get("question"), data.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str):
        return None
    if not question.strip() or not answer.strip():
        return None
    return question.strip(), answer.strip()


async def draft(
    evals: Evals,
    chunks: list[Chunk],
    model: str,
    collection: str,
    advance: Callable[[], None] | None = None,
) -> Drafted:
    """One question/answer item per chunk, with the chunk as its context and relevant id."""
    items, skipped = [], []
    for chunk in chunks:
        messages = [{"role": "user", "content": PROMPT.format(passage=chunk.text)}]
        try:
            pair = read_pair(await evals.complete(model, messages))
        except Exception:  # noqa: BLE001 - a failed call skips this chunk, reported below
            pair = None
        if advance is not None:
            advance()
        if pair is None:
            skipped.append(chunk.id)
            continue
        question, answer = pair
        items.append(
            Item(
                id=f"gen-{chunk.id}"[:128],
                input=question,
                expected=answer,
                context=[chunk.text],
                relevant_ids=[chunk.document_id],
                metadata={"collection": collection, "chunk_id": chunk.id, "generated": True},
            )
        )
    return Drafted(items, skipped)
