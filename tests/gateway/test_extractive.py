from __future__ import annotations

from llmdeck.gateway.providers.local.extractive import NO_ANSWER, answer, sentences, split_question
from llmdeck.gateway.wire.openai import ChatRequest


def request(*messages: tuple[str, str]) -> ChatRequest:
    return ChatRequest(model="chat", messages=[{"role": r, "content": c} for r, c in messages])  # type: ignore[misc]


CONTEXT = (
    "Paris is the capital of France. The Loire is the longest river in France. "
    "Berlin is the capital of Germany. Bread is baked daily."
)


def test_picks_the_most_relevant_sentence() -> None:
    found = answer(
        request(("system", CONTEXT), ("user", "What is the capital of Germany?")), max_sentences=1
    )
    assert found.text == "Berlin is the capital of Germany."


def test_question_with_inline_context() -> None:
    prompt = f"Context:\n{CONTEXT}\n\nQuestion: which river is the longest in France?"
    found = answer(request(("user", prompt)), max_sentences=1)
    assert found.text == "The Loire is the longest river in France."
    question, context = split_question(request(("user", prompt)))
    assert question.startswith("Question:") and "Loire" in context


def test_keeps_original_order_and_respects_limits() -> None:
    found = answer(
        request(("system", CONTEXT), ("user", "capital France Germany")), max_sentences=2
    )
    assert found.sentences == (
        "Paris is the capital of France.",
        "Berlin is the capital of Germany.",
    )
    short = answer(request(("system", CONTEXT), ("user", "capital France Germany")), max_chars=20)
    assert len(short.text) <= 20


def test_no_overlap_means_no_answer() -> None:
    assert (
        answer(request(("system", CONTEXT), ("user", "quantum chromodynamics?"))).text == NO_ANSWER
    )
    assert answer(request(("user", "hello"))).text == NO_ANSWER


def test_sentence_split_handles_lists_and_paragraphs() -> None:
    text = "Intro line.\n\n- first item\n- second item\nEnd. Next one!"
    assert sentences(text) == ["Intro line.", "- first item", "- second item\nEnd.", "Next one!"]


def test_each_markdown_table_row_is_its_own_sentence() -> None:
    table = "| path | what |\n| --- | --- |\n| `/rollback` | back to the previous state |\n"
    assert sentences(table) == [
        "| path | what |",
        "| --- | --- |",
        "| `/rollback` | back to the previous state |",
    ]


def test_passage_numbers_of_a_rag_prompt_stay_out_of_the_answer() -> None:
    context = "[1] Spiders\nA spider has eight legs.\n\n[2] Birds have two legs."
    assert sentences(context) == ["Spiders\nA spider has eight legs.", "Birds have two legs."]


def test_headings_are_not_answers() -> None:
    context = "## Routing strategies\n\nThe priority routing tries deployments in order."
    reply = answer(request(("system", context), ("user", "Which routing strategies are there?")))
    assert reply.text == "The priority routing tries deployments in order."
