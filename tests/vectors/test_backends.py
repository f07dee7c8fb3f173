"""One behaviour, two backends: every test here runs on the embedded engine and on pgvector."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from tests.vectors.conftest import DIM, Factory

from llmdeck.vectors import Item, VectorError

DOCS = [
    Item("d1", "the cat sat on the mat", {"kind": "pet", "year": 2019, "draft": False}),
    Item("d2", "dogs chase cats in the park", {"kind": "pet", "year": 2021, "draft": True}),
    Item("d3", "postgres stores rows in tables", {"kind": "db", "year": 2022, "stars": 5}),
    Item("d4", "sqlite is a small fast database", {"kind": "db", "year": 2018, "stars": 4.5}),
    Item("d5", "vector search finds nearest neighbours", {"kind": "ml", "year": 2023}),
    Item("d6", "hybrid search fuses keyword and vector ranks", {"kind": "ml", "flag": 1}),
]


def _ids(hits: list[Any]) -> set[str]:
    return {h.id for h in hits}


def test_upsert_get_replace_and_delete(make_vectors: Factory) -> None:
    collection = make_vectors().create("docs")
    written = collection.upsert(DOCS)
    assert written.count == 6 and written.tokens > 0
    assert collection.count() == 6
    collection.upsert([Item("d1", "a new text about birds", {"kind": "bird"})])
    assert collection.count() == 6
    [record] = collection.get(["d1"])
    assert (record.text, record.metadata) == ("a new text about birds", {"kind": "bird"})
    assert collection.search("birds", k=1)[0].id == "d1"
    assert collection.delete(["d1", "d2", "missing"]) == 2
    assert collection.count() == 4
    assert collection.get(["d1", "d3"])[0].id == "d3"
    assert "d1" not in _ids(collection.search("birds", k=10))
    assert "d1" not in _ids(collection.search("birds", k=10, mode="keyword"))


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"kind": "db"}, {"d3", "d4"}),
    ({"year": 2021}, {"d2"}),
    ({"year": 2021.0}, {"d2"}),
    ({"draft": True}, {"d2"}),
    ({"flag": True}, set()),  # a boolean never equals the number 1
    ({"flag": 1}, {"d6"}),
    ({"kind": {"$ne": "pet"}}, {"d3", "d4", "d5", "d6"}),
    ({"draft": {"$ne": True}}, {"d1", "d3", "d4", "d5", "d6"}),  # missing counts as not equal
    ({"year": {"$gte": 2019, "$lt": 2022}}, {"d1", "d2"}),
    ({"year": {"$gt": 2021}}, {"d3", "d5"}),
    ({"stars": {"$lte": 4.5}}, {"d4"}),
    ({"kind": {"$in": ["ml", "db"]}}, {"d3", "d4", "d5", "d6"}),
    ({"kind": {"$nin": ["ml", "db"]}}, {"d1", "d2"}),
    ({"year": {"$in": [2018, 2023]}}, {"d4", "d5"}),
    ({"$or": [{"kind": "ml"}, {"year": {"$lt": 2019}}]}, {"d4", "d5", "d6"}),
    ({"$and": [{"kind": "pet"}, {"year": {"$gt": 2020}}]}, {"d2"}),
    ({"kind": "pet", "draft": False}, {"d1"}),
    ({"kind": {"$gt": 3}}, set()),  # a range on a string field matches nothing
    ({"nothing": "here"}, set()),
]


@pytest.mark.parametrize(("flt", "expected"), FILTERS)
def test_filters(make_vectors: Factory, flt: dict[str, Any], expected: set[str]) -> None:
    collection = make_vectors().create("docs")
    collection.upsert(DOCS)
    assert _ids(collection.search("search database cats", k=10, filter=flt)) == expected
    keyword = collection.search("the search database cats", k=10, filter=flt, mode="keyword")
    assert _ids(keyword) <= expected


def test_bad_filters_name_the_part(make_vectors: Factory) -> None:
    collection = make_vectors().create("docs")
    for flt, where in [
        ({"year": {"$gt": "x"}}, "filter.year.$gt"),
        ({"year": {"$between": 1}}, "filter.year.$between"),
        ({"$or": []}, "filter.$or"),
        ({"tags": ["a"]}, "filter.tags"),
    ]:
        with pytest.raises(VectorError) as error:
            collection.search("x", filter=flt)
        assert error.value.param == where


def test_keyword_search_ranks_by_text(make_vectors: Factory) -> None:
    collection = make_vectors().create("docs")
    collection.upsert(DOCS)
    hits = collection.search("postgres tables", mode="keyword", k=3)
    assert hits[0].id == "d3" and hits[0].score > 0
    assert collection.search("zebra", mode="keyword") == []
    assert collection.search("?!", mode="keyword") == []  # no words: no matches, no syntax error


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_vector_scores_match_exact_computation(make_vectors: Factory, metric: str) -> None:
    collection = make_vectors().create("m", dim=8, metric=metric)  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    data = rng.normal(size=(40, 8)).astype(np.float32)
    collection.upsert([Item(f"r{i}", vector=v) for i, v in enumerate(data)])
    query = rng.normal(size=8).astype(np.float32)
    hits = collection.search(vector=query, k=5)
    if metric == "cosine":
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        expected = unit @ (query / np.linalg.norm(query))
    elif metric == "dot":
        expected = data @ query
    else:
        expected = -np.linalg.norm(data - query, axis=1)
    best = np.argsort(-expected)[:5]
    assert [h.id for h in hits] == [f"r{i}" for i in best]
    assert np.allclose([h.score for h in hits], expected[best], atol=1e-4)


def test_hybrid_fuses_both_rankings(make_vectors: Factory) -> None:
    collection = make_vectors().create("docs")
    collection.upsert(DOCS)
    for fusion in ("rrf", "weighted"):
        hits = collection.search(
            "hybrid keyword ranks",
            mode="hybrid",
            k=3,
            fusion_method=fusion,  # type: ignore[arg-type]
        )
        assert hits[0].id == "d6"
        assert hits[0].vector_score is not None and hits[0].keyword_score is not None
        assert hits == sorted(hits, key=lambda h: -h.score)
    only_vector = collection.search(
        "hybrid keyword ranks", mode="hybrid", alpha=1.0, fusion_method="weighted", k=6
    )
    by_vector = collection.search("hybrid keyword ranks", k=6)
    assert [h.id for h in only_vector][:3] == [h.id for h in by_vector][:3]


def test_wrong_dimension_and_model_are_refused(make_vectors: Factory) -> None:
    collection = make_vectors().create("docs")
    with pytest.raises(VectorError, match=f"dimension 3; this collection's is {DIM}") as error:
        collection.upsert([Item("x", vector=[1.0, 2.0, 3.0])])
    assert error.value.code == "wrong_dimension" and error.value.param == "items[0].vector"
    with pytest.raises(VectorError, match="holds 'embed' embeddings") as error:
        collection.upsert([Item("x", vector=[0.1] * DIM)], model="other")
    assert error.value.code == "wrong_model"
    with pytest.raises(VectorError, match="dimension 2"):
        collection.search(vector=[1.0, 0.0])
    with pytest.raises(VectorError, match="NaN"):
        collection.upsert([Item("x", vector=[float("nan")] * DIM)])
    assert collection.count() == 0


def test_data_and_index_survive_a_restart(make_vectors: Factory) -> None:
    vectors = make_vectors(exact_below=0)
    collection = vectors.create("docs")
    rng = np.random.default_rng(2)
    data = rng.normal(size=(300, DIM)).astype(np.float32)
    collection.upsert([Item(f"r{i}", f"text {i}", {"n": i}, v) for i, v in enumerate(data)])
    collection.delete(["r0"])
    before = collection.search(vector=data[5], k=5, filter={"n": {"$lt": 100}})
    assert collection.index.stats()["index"]["built"]
    vectors.close()
    again = make_vectors(exact_below=0).get("docs")
    assert again.count() == 299
    assert again.index.stats()["index"]["built"]
    assert again.search(vector=data[5], k=5, filter={"n": {"$lt": 100}}) == before
    assert again.search("text", mode="keyword", k=400, filter={"n": 0}) == []
    again.upsert([Item("r0", "back again", {"n": 0}, data[0])])
    assert again.search(vector=data[0], k=1)[0].id == "r0"


def test_concurrent_writers(make_vectors: Factory) -> None:
    collection = make_vectors(exact_below=50).create("docs")
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for batch in range(5):
                items = [
                    Item(f"w{worker}-{batch}-{i}", f"worker {worker} item {i}", {"w": worker})
                    for i in range(10)
                ]
                collection.upsert(items)
                collection.search(f"worker {worker}", k=3, filter={"w": worker})
            collection.delete([f"w{worker}-0-{i}" for i in range(10)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert collection.count() == 4 * 40
    for worker in range(4):
        hits = collection.search("item", k=100, filter={"w": worker})
        assert len(hits) == 40 and {h.metadata["w"] for h in hits} == {worker}


def test_filtered_ann_search_keeps_recall(make_vectors: Factory) -> None:
    """Above the exact threshold: a selective filter is answered exactly, a broad one by the
    graph with the filter applied; both agree with exact search."""
    collection = make_vectors(exact_below=0).create("big", dim=16)
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(20, 16))
    data = (centres[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 16))).astype(
        np.float32
    )
    collection.upsert(
        [Item(f"r{i}", vector=v, metadata={"b": i % 100}) for i, v in enumerate(data)]
    )
    recalls = []
    for flt in ({"b": 7}, {"b": {"$lt": 50}}, None):
        for q in data[:20]:
            got = _ids(collection.search(vector=q, k=10, filter=flt))
            truth = _ids(collection.search(vector=q, k=10, filter=flt, exact=True))
            recalls.append(len(got & truth) / 10)
    assert np.mean(recalls) >= 0.95
