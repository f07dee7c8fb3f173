"""`llmdeck rag ingest | query` through click's runner: against the store directly, and
against a running server with --url."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result

from llmdeck.cli import cli
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import rag_settings


@pytest.fixture
def run(tmp_path: Path, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    deployment = {"provider": "openai", "model": "fake", "api_base": fake.openai_base}
    config = {
        "models": [
            {"name": "chat", "deployments": [{"provider": "local", "model": "extractive"}]},
            {"name": "embed", "deployments": [deployment]},
        ],
        "rag": {"default": {"retrieval": {"fusion": "weighted", "alpha": 0.1}}},
    }
    path = tmp_path / "llmdeck.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("LLMDECK_CONFIG", str(path))
    monkeypatch.setenv("LLMDECK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LLMDECK_DATABASE_URL", raising=False)
    monkeypatch.delenv("LLMDECK_URL", raising=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["rag", *args], catch_exceptions=True)

    return invoke


def test_ingest_and_query(run, corpus: Path, fake: FakeProvider) -> None:  # type: ignore[no-untyped-def]
    ingested = run("ingest", str(corpus), "--collection", "geo", "--json")
    assert ingested.exit_code == 0, ingested.output
    report = orjson.loads(ingested.stdout)
    assert report["written"] == 7 and len(report["problems"]) == 2
    assert "skipped" in ingested.stderr and "broken.pdf" in ingested.stderr
    again = run("ingest", str(corpus), "--collection", "geo")
    assert "0 documents written, 7 unchanged" in again.stdout

    asked = run("query", "What is Mount Etna?", "--collection", "geo", "--json")
    assert asked.exit_code == 0, asked.output
    result = orjson.loads(asked.stdout)
    assert "Mount Etna" in result["answer"] and result["citations"][0]["document_id"]
    assert {"answer", "citations", "chunks"} <= set(result)
    shown = run("query", "What is Mount Etna?", "--collection", "geo", "--stream")
    assert shown.stdout.startswith("Mount Etna in Sicily") and "volcanoes.html" in shown.stdout


def test_bad_input_is_a_usage_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = run("ingest", str(tmp_path / "nowhere"), "--collection", "geo")
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = run("query", "anything", "--collection", "nothing-here")
    assert unknown.exit_code == 2 and "not found" in unknown.output
    bad = run("query", "x", "--collection", "geo", "--filter", "{oops")
    assert bad.exit_code == 2 and "--filter" in bad.output


def test_query_through_a_server(run, home: Path, fake: FakeProvider, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    settings = rag_settings(
        home,
        fake,
        rag={
            "pipelines": {
                "geo": {"source": str(corpus), "retrieval": {"fusion": "weighted", "alpha": 0.1}}
            }
        },
    )
    with ServerThread(settings) as server:
        ingested = run("ingest", str(corpus), "-c", "geo", "--url", server.url, "--json")
        assert ingested.exit_code == 0, ingested.output
        assert orjson.loads(ingested.stdout)["written"] == 7
        assert "broken.pdf" in ingested.stderr
        asked = run("query", "What is Mount Etna?", "-c", "geo", "--url", server.url, "--json")
        assert asked.exit_code == 0, asked.output
        assert "Mount Etna" in orjson.loads(asked.stdout)["answer"]
        streamed = run("query", "What is Mount Etna?", "-c", "geo", "--url", server.url, "--stream")
        assert streamed.stdout.startswith("Mount Etna in Sicily"), streamed.output
        missing = run("query", "x", "-c", "nothing", "--url", server.url)
        assert missing.exit_code == 2 and "404" in missing.output


def test_config_check_names_a_pipeline_bad_alias(tmp_path: Path) -> None:
    config = tmp_path / "llmdeck.yaml"
    config.write_text(yaml.safe_dump({"rag": {"pipelines": {"docs": {"answer": "gpt-9"}}}}))
    checked = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert checked.exit_code == 1  # a failed check
    assert "rag.pipelines.docs.answer: unknown model alias 'gpt-9'" in checked.output
