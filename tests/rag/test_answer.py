"""Citations: which passages an answer names or quotes, with their document offsets."""

from __future__ import annotations

from llmdeck.rag import Retrieved
from llmdeck.rag.answer import citations, context_text, reranked


def _chunk(ident: str, text: str, start: int) -> Retrieved:
    meta = {"start": start, "end": start + len(text), "title": ident.upper(), "source": "/d"}
    return Retrieved(f"{ident}#0", ident, 0.5, text, meta)


CHUNKS = [
    _chunk(
        "a", "| `POST /rollback` | back to the previous state |\n| `GET /history` | moves |", 10
    ),
    _chunk("b", "Labels point at versions. Every move is recorded with who and when.", 200),
    _chunk("c", "Something else entirely, about caches and their keys.", 400),
]


def test_quoted_and_named_passages_are_cited() -> None:
    answer = "| `POST /rollback` | back to the previous state | and see [2]."
    found = citations(answer, CHUNKS)
    assert [(c.marker, c.document_id, c.start, c.end) for c in found] == [
        (1, "a", 10, 10 + len(CHUNKS[0].text)),
        (2, "b", 200, 200 + len(CHUNKS[1].text)),
    ]
    assert all(c.cited for c in found) and found[0].title == "A"


def test_an_answer_citing_nothing_lists_every_passage_uncited() -> None:
    found = citations("I do not know.", CHUNKS)
    assert [c.marker for c in found] == [1, 2, 3] and not any(c.cited for c in found)


def test_context_numbers_passages_and_reranking_reads_the_order() -> None:
    assert context_text(CHUNKS).startswith("[1] | `POST /rollback`")
    assert "\n\n[3] Something else" in context_text(CHUNKS)
    assert [c.document_id for c in reranked('{"order": [3, 1]}', CHUNKS) or []] == ["c", "a", "b"]
    assert reranked("no idea", CHUNKS) is None


def test_the_overlap_of_neighbouring_chunks_is_shown_once() -> None:
    text = "First sentence here. Second sentence here. Third sentence here."
    one = Retrieved("d#0", "d", 0.9, text[:42], {"start": 0, "end": 42})
    two = Retrieved("d#1", "d", 0.8, text[21:], {"start": 21, "end": len(text)})
    inside = Retrieved("d#2", "d", 0.7, text[0:20], {"start": 0, "end": 20})
    shown = context_text([one, two, inside])
    assert shown == f"[1] {text[:42]}\n\n[2] Third sentence here.\n\n[3] "
