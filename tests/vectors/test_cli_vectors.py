"""`llmdeck vectors ...` against a real store and embedded engine, embedding through the
in-process gateway to a fake provider."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result

from llmdeck.cli import cli
from llmdeck.testing import FakeProvider


@pytest.fixture
def run(tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    deployment = {"provider": "openai", "model": "fake", "api_base": fake_provider.openai_base}
    config = {
        "models": [
            {"name": "embed", "deployments": [deployment]},
            {"name": "embed-b", "deployments": [{**deployment, "model": "fake-b"}]},
        ]
    }
    path = tmp_path / "llmdeck.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("LLMDECK_CONFIG", str(path))
    monkeypatch.setenv("LLMDECK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LLMDECK_DATABASE_URL", raising=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["vectors", *args], catch_exceptions=True)

    return invoke


def test_cli_life_cycle(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("create", "docs").exit_code == 0
    items = tmp_path / "items.jsonl"
    rows = [
        {"id": f"d{i}", "text": f"document number {i}", "metadata": {"n": i}} for i in range(30)
    ]
    items.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    upserted = run("upsert", "docs", str(items), "--json")
    assert upserted.exit_code == 0, upserted.output
    assert orjson.loads(upserted.stdout)["upserted"] == 30
    found = run("search", "docs", "document number 7", "--json", "--filter", '{"n": {"$lt": 10}}')
    hits = orjson.loads(found.stdout)["hits"]
    assert hits[0]["id"] == "d7" and all(h["metadata"]["n"] < 10 for h in hits)
    tuned = run("tune", "docs", "--target-recall", "0.9", "--queries", "20", "--json")
    assert tuned.exit_code == 0, tuned.output
    assert orjson.loads(tuned.stdout)["met"] is True
    golden = tmp_path / "golden.jsonl"
    golden.write_text('{"query": "document number 3", "relevant_ids": ["d3"]}\n')
    assert "recall@10 1.000" in run("golden", "docs", str(golden)).output
    migrated = run("migrate", "docs", "--model", "embed-b", "--json")
    assert migrated.exit_code == 0, migrated.output
    assert orjson.loads(migrated.stdout[migrated.stdout.index("{") :])["state"] == "switched"
    stats = orjson.loads(run("stats", "docs", "--json").stdout)
    assert (stats["version"], stats["model"], stats["rows"]) == (2, "embed-b", 30)
    assert stats["tuned_at"] is not None or stats["version"] == 2
    assert "now serves version 1" in run("rollback", "docs").output
    listing = orjson.loads(run("list", "--json").stdout)["collections"]
    assert [(c["name"], c["version"]) for c in listing] == [("docs", 1)]
    history = orjson.loads(run("quality", "docs", "--json").stdout)
    assert {p["trigger"] for p in history["points"]} >= {"manual", "migration"}
    assert run("optimize", "docs").exit_code == 0
    assert run("drop", "docs", "--version", "2", "--yes").exit_code == 0


def test_cli_names_the_bad_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("create", "docs", "--dim", "16")
    items = tmp_path / "bad.jsonl"
    items.write_text('{"id": "ok", "text": "fine"}\n{"text": "no id"}\n')
    result = run("upsert", "docs", str(items))
    assert result.exit_code == 2
    assert f"{items}:2: each line needs a string" in result.output
    result = run("search", "docs", "x", "--filter", '{"n": {"$gt": "a"}}')
    assert result.exit_code == 2 and "filter.n.$gt: a range needs a number" in result.output
    assert run("stats", "nope").exit_code == 2
