"""Tuning, quality monitoring, drift and embedding migrations, on both backends."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from tests.vectors.conftest import ServiceFactory, word_embed

from llmdeck.config import VectorsSettings
from llmdeck.observe import Recorder
from llmdeck.store import open_store
from llmdeck.store.tables import events
from llmdeck.vectors import Golden, Item, Plan, VectorError, VectorService

WORDS = [f"w{i}" for i in range(400)]


def _corpus(n: int, seed: int = 0) -> list[Item]:
    """Texts on 20 topics (each topic a few words of its own), so golden queries can find them."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        topic = i % 20
        words = [f"topic{topic}", f"theme{topic}", *rng.choice(WORDS, 4)]
        items.append(Item(f"doc{i:04d}", " ".join(words), {"topic": topic}))
    return items


def _golden() -> list[Golden]:
    return [
        Golden(f"g{t}", f"topic{t} theme{t}", tuple(f"doc{i:04d}" for i in range(t, 200, 20)))
        for t in range(5)
    ]


def test_tune_meets_the_target_and_records_it(make_service: ServiceFactory) -> None:
    service = make_service(exact_below=0)
    collection = service.vectors.create("tuned", dim=16)
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(30, 16))
    data = centres[rng.integers(0, 30, 2000)] + 0.35 * rng.normal(size=(2000, 16))
    for start in range(0, 2000, 1000):
        chunk = data[start : start + 1000]
        collection.upsert([Item(f"r{start + i}", vector=v) for i, v in enumerate(chunk)])
    steps: list[tuple[int, int]] = []
    found = service.tune(
        "tuned", target_recall=0.95, queries=40, progress=lambda d, t: steps.append((d, t))
    )
    assert found.met and found.chosen is not None
    assert found.chosen.recall >= 0.95
    assert steps[-1][0] == steps[-1][1] == len(found.trials)
    faster = [t for t in found.trials if t.recall >= 0.95 and t.qps > found.chosen.qps]
    assert faster == []
    stats = service.stats("tuned")
    assert stats["tuned_at"] is not None
    assert stats["index_settings"]["ef_search"] == found.chosen.setting
    assert stats["tuning"]["chosen"]["setting"] == found.chosen.setting


def test_tune_refuses_flat_and_empty(make_service: ServiceFactory) -> None:
    service = make_service(index={"type": "flat"})
    service.vectors.create("flat")
    with pytest.raises(VectorError, match="nothing to tune"):
        service.tune("flat", target_recall=0.9)


def test_quality_series_and_drop_event(make_service: ServiceFactory) -> None:
    service = make_service()
    service.vectors.create("docs")
    service.quality.set_golden("docs", _golden())
    service.ingest("docs", _corpus(200))
    [point] = service.quality.history("docs")
    assert point["trigger"] == "ingest" and point["recall"] > 0.7 and point["mrr"] == 1.0
    # replace the relevant documents' texts: recall falls, an event is recorded
    damaged = [Item(f"doc{i:04d}", "unrelated words only", {}) for i in range(0, 200, 20)]
    service.ingest("docs", damaged)
    latest = service.quality.history("docs")[0]
    assert latest["recall"] < point["recall"] - 0.05
    [event] = [e for e in service.quality.events("docs") if e["kind"] == "quality_drop"]
    assert "fell from" in event["message"]
    assert service.measure_all() == 1
    assert service.quality.history("docs")[0]["trigger"] == "schedule"


def test_drift_is_tracked_after_ingestion(make_service: ServiceFactory) -> None:
    service = make_service()
    service.vectors.create("docs")
    service.ingest("docs", _corpus(100))  # sets the baseline
    assert service.quality.drift_history("docs") == []
    service.ingest("docs", _corpus(40, seed=1)[:40])
    similar = service.quality.drift_history("docs")[0]
    novel = [Item(f"new{i}", f"zebra{i} quasar{i} nebula{i}") for i in range(40)]
    service.ingest("docs", novel)
    shifted = service.quality.drift_history("docs")[0]
    assert shifted["centroid_shift"] > similar["centroid_shift"]
    assert shifted["nn_distance"] > similar["nn_distance"]
    assert any(e["kind"] == "drift" for e in service.quality.events("docs"))


def test_migration_interrupted_resumed_switched_and_rolled_back(
    make_service: ServiceFactory,
) -> None:
    service = make_service()
    service.vectors.create("docs")
    service.quality.set_golden("docs", _golden())
    service.ingest("docs", _corpus(200))
    service.migrations.start("docs", "embed-v2")
    stop = threading.Event()
    seen: list[dict[str, Any]] = []

    def interrupt(state: dict[str, Any]) -> None:
        seen.append(dict(state))
        if state["done"] >= 64:
            stop.set()

    first = service.migrations.run("docs", stop=stop, progress=interrupt)
    assert first["state"] == "interrupted" and first["done"] == 64 and first["total"] == 200
    assert service.stats("docs")["version"] == 1  # still serving the old version
    # a write while the migration waits reaches both versions
    service.ingest("docs", [Item("late", "topic1 theme1 late arrival", {"topic": 1})])
    service.close()
    again = make_service()  # as after a restart: the migration resumes from its cursor
    done = again.migrations.run("docs")
    assert done["state"] == "switched" and done["done"] == 201
    assert done["tokens"] > 0 and done["cost"] > 0
    assert done["comparison"]["quality_holds"] is True
    stats = again.stats("docs")
    assert (stats["version"], stats["model"], stats["previous_version"]) == (2, "embed-v2", 1)
    assert again.collection("docs").count() == 201
    assert again.collection("docs").get(["late"])[0].text == "topic1 theme1 late arrival"
    assert again.quality.history("docs")[0]["trigger"] == "migration"
    assert again.migrations.rollback("docs") == 1
    stats = again.stats("docs")
    assert (stats["version"], stats["model"]) == (1, "embed")
    assert [v["state"] for v in stats["versions"]] == ["active", "retired"]
    with pytest.raises(VectorError, match="what 'docs' serves"):
        again.vectors.drop("docs", version=1)
    assert again.vectors.drop("docs", version=2) == [2]
    assert [v["version"] for v in again.stats("docs")["versions"]] == [1]


def test_migration_without_golden_queries_is_held_unless_forced(
    make_service: ServiceFactory,
) -> None:
    service = make_service()
    service.vectors.create("docs")
    service.ingest("docs", _corpus(30))
    service.migrations.start("docs", "embed-v2")
    held = service.migrations.run("docs")
    assert held["state"] == "held" and held["comparison"]["golden_queries"] == 0
    assert service.stats("docs")["version"] == 1
    assert service.migrations.switch("docs")["state"] == "switched"
    assert service.stats("docs")["version"] == 2
    service.migrations.start("docs", "embed-v3")
    forced = service.migrations.run("docs", Plan(force=True))
    assert forced["state"] == "switched" and forced["comparison"]["forced"] is True


def test_quality_events_reach_the_event_stream(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'llmdeck.db'}")
    recorder = Recorder(store)
    recorder.start()
    service = VectorService(
        store, VectorsSettings(), tmp_path / "home", embed=word_embed, recorder=recorder
    )
    try:
        service.vectors.create("docs")
        service.quality.set_golden("docs", _golden())
        service.ingest("docs", _corpus(200))
        service.ingest("docs", [Item(f"doc{i:04d}", "unrelated", {}) for i in range(0, 200, 20)])
        assert recorder.flush()
        rows = store.read(lambda conn: conn.execute(select(events)).mappings().all())
        [drop] = [r for r in rows if r["name"] == "vectors.quality_drop"]
        assert drop["level"] == "warning" and drop["source"] == "vectors/docs"
    finally:
        service.close()
        recorder.close()
        store.close()
