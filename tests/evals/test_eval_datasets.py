"""Datasets on SQLite and PostgreSQL: versions lock once a run used them; JSONL and CSV in and
out with errors naming file and line; items built from recorded calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmdeck.errors import NotFound
from llmdeck.evals import DatasetError, Item, parse_suite, read_items, to_csv, to_jsonl
from llmdeck.evals.from_traces import TraceFilter, items_from_traces
from llmdeck.evals.items import read_csv, read_jsonl
from llmdeck.evals.local import local_evals

from .conftest import eval_settings


def test_versions_are_immutable_once_used(tmp_path: Path, database_url: str) -> None:
    settings = eval_settings(tmp_path / "home", database_url)
    data = tmp_path / "suite.yaml"

    async def scenario() -> None:
        async with local_evals(settings) as evals:
            sets = evals.datasets
            first = await sets.add("qa", [Item("a", "one?", expected="1"), Item("b", "two?")],
                                   description="numbers")  # fmt: skip
            assert (first.latest_version, first.item_count, first.locked) == (1, 2, False)
            # not used yet: grows in place, and an id replaces its item
            grown = await sets.add("qa", [Item("b", "two??", expected="2"), Item("c", "three?")])
            assert (grown.latest_version, grown.item_count) == (1, 3)
            version, items = await sets.items("qa")
            assert [(i.id, i.input) for i in items] == [
                ("a", "one?"),
                ("b", "two??"),
                ("c", "three?"),
            ]
            suite = parse_suite(
                "name: qa\ndataset: qa\ntarget: {model: chat}\nevaluators: [contains]\n", str(data)
            )
            outcome = await evals.run_suite(suite)
            assert outcome.run.dataset == "qa" and outcome.run.dataset_version == 1
            assert (await sets.info("qa")).locked
            after = await sets.add("qa", [Item("d", "four?")])
            assert (after.latest_version, after.item_count, after.locked) == (2, 4, False)
            _, old = await sets.items("qa", 1)
            assert [i.id for i in old] == ["a", "b", "c"]  # what the run saw, unchanged
            resumed = await evals.run_suite(suite, resume=outcome.run.id)
            assert [r.item_id for r in resumed.run.results] == ["a", "b", "c"]
            pinned = parse_suite(
                "name: qa\ndataset: qa@v1\ntarget: {model: chat}\nevaluators: [contains]\n",
                str(data),
            )
            again = await evals.run_suite(pinned)
            assert again.run.item_count == 3
            assert [d.name for d in await sets.list_datasets()] == ["qa"]
            await sets.delete("qa")
            with pytest.raises(NotFound):
                await sets.info("qa")

    asyncio.run(scenario())


def test_from_traces(tmp_path: Path, database_url: str) -> None:
    settings = eval_settings(tmp_path / "home", database_url)

    async def scenario() -> None:
        async with local_evals(settings) as evals:
            for question in ["Where is Paris?", "What is 2+2?"]:
                await evals.complete("chat", [
                    {"role": "system", "content": "Paris is in France. 2+2 is 4."},
                    {"role": "user", "content": question},
                ])  # fmt: skip
            assert evals.recorder is not None
            await asyncio.to_thread(evals.recorder.flush)
            items = await items_from_traces(evals.store, TraceFilter(model="chat"))
            assert sorted(i.input for i in items) == ["What is 2+2?", "Where is Paris?"]
            assert all(i.expected and i.metadata["trace_id"] for i in items)
            assert await items_from_traces(evals.store, TraceFilter(model="other")) == []
            info = await evals.datasets.add("prod", items, source="traces")
            assert info.item_count == 2

    asyncio.run(scenario())


def test_files_round_trip_and_errors(tmp_path: Path) -> None:
    items = [
        Item("a", "q1", expected="x", context=["c1"], relevant_ids=["d1"], metadata={"k": 1}),
        Item("b", None, variables={"question": "q2", "n": 3}, expected="y"),
    ]
    assert read_jsonl(to_jsonl(items), "x.jsonl") == items
    assert read_csv(to_csv(items), "x.csv") == items
    no_ids = read_jsonl('{"input": "q"}\n\n{"input": "r"}\n', "f.jsonl")
    assert len({i.id for i in no_ids}) == 2
    assert read_jsonl('{"input": "q"}\n', "f.jsonl")[0].id == no_ids[0].id  # stable
    bad = {
        '{"input": "q"}\n{"input": \n': "f.jsonl:2: invalid JSON",
        '{"expected": "q"}\n': 'f.jsonl:1: a row needs "input" or "variables"',
        '{"input": "q", "answer": 1}\n': "f.jsonl:1: unknown field 'answer'",
        '{"id": "a", "input": "q"}\n{"id": "a", "input": "r"}\n': "f.jsonl:2: id 'a' is used twice",
        '{"input": "q", "context": [1]}\n': 'f.jsonl:1: "context" must be',
    }
    for text, message in bad.items():
        with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
            read_jsonl(text, "f.jsonl")
    with pytest.raises(DatasetError, match="f.csv:3: column 'metadata' must hold JSON"):
        read_csv("input,metadata\nq,{}\nr,{oops\n", "f.csv")
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("question,product,expected\nHow?,Deck,Like this\n")
    (row,) = read_items(csv_file)
    assert row.variables == {"question": "How?", "product": "Deck"} and row.expected == "Like this"
