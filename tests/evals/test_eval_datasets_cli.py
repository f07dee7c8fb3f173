"""`llmdeck eval datasets ...` and `eval runs | show`: what a person types, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from .conftest import fact_rows, write_jsonl


def test_import_list_export_items_runs_and_show(tmp_path: Path) -> None:
    env = {**os.environ, "LLMDECK_HOME": str(tmp_path / "home")}

    def llmdeck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "llmdeck", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    rows = [
        {"id": r["id"], "input": r["variables"]["question"], "context": r["variables"]["context"],
         "expected": r["expected"]}
        for r in fact_rows(3, 5)
    ]  # fmt: skip
    write_jsonl(tmp_path / "caps.jsonl", rows)
    added = llmdeck("eval", "datasets", "import", "caps", "caps.jsonl", "--json")
    assert added.returncode == 0, added.stderr
    assert orjson.loads(added.stdout)["item_count"] == 5
    (tmp_path / "bad.jsonl").write_text('{"input": "q"}\n{"input": "q", "oops": 1}\n')
    bad = llmdeck("eval", "datasets", "import", "caps", "bad.jsonl")
    assert bad.returncode == 2 and "bad.jsonl:2: unknown field 'oops'" in bad.stderr
    listed = llmdeck("eval", "datasets", "list")
    assert "caps" in listed.stdout and "v1" in listed.stdout
    exported = llmdeck("eval", "datasets", "export", "caps")
    assert [orjson.loads(line)["id"] for line in exported.stdout.splitlines()] == [
        r["id"] for r in rows
    ]
    llmdeck("eval", "datasets", "export", "caps", "--format", "csv", "--out", "caps.csv")
    assert (tmp_path / "caps.csv").read_text().startswith("id,input,variables,expected")
    items = orjson.loads(llmdeck("eval", "datasets", "items", "caps", "--json").stdout)
    assert items["version"] == 1 and len(items["items"]) == 5

    (tmp_path / "suite.yaml").write_text(
        "name: caps\ndataset: caps\ntarget: {model: chat}\nevaluators: [contains]\n"
    )
    run = llmdeck("eval", "run", "suite.yaml", "--json")
    assert run.returncode == 0, run.stderr
    run_id = orjson.loads(run.stdout)["id"]
    assert orjson.loads(run.stdout)["scores"]["contains"] == 1.0
    runs = orjson.loads(llmdeck("eval", "runs", "--json").stdout)["runs"]
    assert [(r["id"], r["status"], r["dataset_version"]) for r in runs] == [(run_id, "passed", 1)]
    shown = orjson.loads(llmdeck("eval", "show", run_id, "--json").stdout)
    assert len(shown["results"]) == 5 and shown["results"][0]["trace_id"]
    table = llmdeck("eval", "show", run_id)
    assert "contains=1.000" in table.stdout
    # the version a run used is frozen: importing again makes v2
    again = llmdeck("eval", "datasets", "import", "caps", "caps.csv", "--json")
    assert orjson.loads(again.stdout)["latest_version"] == 2
    unknown = llmdeck("eval", "run", "suite.yaml", "--baseline", "nope")
    assert unknown.returncode == 2 and "--baseline" in unknown.stderr and "nope" in unknown.stderr
    missing = llmdeck("eval", "show", "nope")
    assert missing.returncode == 1 and "no run 'nope'" in missing.stderr
