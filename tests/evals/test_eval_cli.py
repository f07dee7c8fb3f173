"""`llmdeck eval run` as CI runs it: exit codes, --json, JUnit XML, the Markdown summary, bad
suite files, and resuming a run that was killed mid-way."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import yaml

from llmdeck.evals.local import local_evals
from llmdeck.testing import FakeProvider

from .conftest import ADMIN, GOOD, WORSE, eval_settings, fact_rows, push, write_jsonl


def llmdeck(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLMDECK_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "llmdeck", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def write_suite(path: Path, **fields: Any) -> Path:
    base = {
        "name": "capitals",
        "dataset": "capitals.jsonl",
        "target": {"prompt": "capitals", "label": "staging"},
        "evaluators": ["contains", "faithfulness"],
        "thresholds": {"contains": 0.5},
    }
    path.write_text(yaml.safe_dump({**base, **fields}, sort_keys=False))
    return path


def test_gate_exit_codes_json_junit_and_summary(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_jsonl(tmp_path / "capitals.jsonl", fact_rows(7, 16))
    suite = write_suite(tmp_path / "suite.yaml")

    async def prompts() -> tuple[int, int]:
        async with local_evals(eval_settings(home)) as evals:
            return await push(evals, "capitals", GOOD, "staging"), await push(
                evals, "capitals", WORSE
            )

    good, worse = asyncio.run(prompts())
    first = llmdeck("eval", "run", str(suite), "--json", home=home, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    base = orjson.loads(first.stdout)
    assert set(base) >= {"id", "scores", "regressions"}
    assert base["regressions"] == [] and base["scores"]["contains"] == 1.0

    # staging now points at the version that drops the context
    async def move() -> None:
        async with local_evals(eval_settings(home)) as evals:
            assert evals.prompts is not None
            await evals.prompts.move("capitals", "staging", worse, ADMIN)

    asyncio.run(move())
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    args = ["--baseline", base["id"], "--fail-on-regression", "--json"]
    second = llmdeck(
        "eval", "run", str(suite), *args, "--junit", str(junit), "--summary", str(summary),
        home=home, cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 1, second.stderr
    result = orjson.loads(second.stdout)
    assert "contains" in result["regressions"]
    root = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"contains", "faithfulness"}
    failure = cases["contains"].find("failure")
    assert failure is not None and "regression" in (failure.get("message") or "")
    testsuite = root.find("testsuite")
    assert testsuite is not None
    assert testsuite.get("failures") == str(len(result["regressions"]))
    text = summary.read_text()
    assert "**regression**" in text and "| contains |" in text

    compared = llmdeck(
        "eval", "compare", base["id"], result["id"], "--json", home=home, cwd=tmp_path
    )
    assert compared.returncode == 1
    assert "contains" in orjson.loads(compared.stdout)["regressions"]
    same = llmdeck("eval", "compare", base["id"], base["id"], home=home, cwd=tmp_path)
    assert same.returncode == 0, same.stdout


def test_bad_suite_files_name_file_field_and_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_jsonl(tmp_path / "capitals.jsonl", fact_rows(1, 2))
    cases = {
        "typo.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {model: chat}\n"
                      "evaluators: [contains]\nthreshold: {contains: 1}\n",
                      "typo.yaml:5: threshold: unknown key"),
        "target.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {modle: chat}\n"
                        "evaluators: [contains]\n", "target.yaml:3: target"),
        "evaluator.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {model: chat}\n"
                           "evaluators:\n  - contains\n  - nonsense\n",
                           "evaluator.yaml:6: evaluators[1]: unknown evaluator 'nonsense'"),
        "option.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {model: chat}\n"
                        "evaluators:\n  - {regex: {patern: x}}\n",
                        "option.yaml:5: evaluators[0]: unknown option 'patern'"),
        "threshold.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {model: chat}\n"
                           "evaluators: [contains]\nthresholds:\n  exact_match: 0.5\n",
                           "threshold.yaml:6: thresholds.exact_match: no evaluator"),
        "yaml.yaml": ("name: x\ndataset: [unclosed\n", "yaml.yaml:3: invalid YAML"),
        "env.yaml": ("name: x\ndataset: capitals.jsonl\ntarget:\n  http: http://127.0.0.1:9/\n"
                     "  headers: {authorization: 'Bearer ${NO_SUCH_VAR_FOR_EVALS}'}\n"
                     "evaluators: [contains]\n",
                     "env.yaml:5: target.headers.authorization: environment variable "
                     "NO_SUCH_VAR_FOR_EVALS is not set"),
        "prompt.yaml": ("name: x\ndataset: capitals.jsonl\ntarget: {prompt: nope}\n"
                        "evaluators: [contains]\n", "prompt.yaml:3: target: "),
        "data.yaml": ("name: x\ndataset: missing.jsonl\ntarget: {model: chat}\n"
                      "evaluators: [contains]\n", "data.yaml:2: dataset:"),
    }  # fmt: skip
    for file, (text, expected) in cases.items():
        (tmp_path / file).write_text(text)
        done = llmdeck("eval", "run", file, home=home, cwd=tmp_path)
        assert done.returncode == 2, (file, done.stderr)
        assert expected in done.stderr, (file, done.stderr)
        assert "Traceback" not in done.stderr


def test_resume_after_a_killed_run_runs_no_item_twice(tmp_path: Path, fake: FakeProvider) -> None:
    home = tmp_path / "home"
    rows = [
        {"id": f"q{i}", "input": f"question number {i}", "expected": f"question number {i}"}
        for i in range(30)
    ]
    write_jsonl(tmp_path / "echo.jsonl", rows)
    config = tmp_path / "llmdeck.yaml"
    deployment = {"provider": "openai", "model": "fake-chat", "api_base": fake.openai_base,
                  "api_key": "sk-fake"}  # fmt: skip
    config.write_text(yaml.safe_dump({"models": [{"name": "chat", "deployments": [deployment]}]}))
    suite = write_suite(
        tmp_path / "echo.yaml", name="echo", dataset="echo.jsonl", target={"model": "chat"},
        evaluators=["contains"], thresholds={}, concurrency=2,
    )  # fmt: skip
    fake.set(latency=0.15)
    env = {**os.environ, "LLMDECK_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmdeck", "eval", "run", str(suite), "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    database = home / "llmdeck.db"
    done_before: set[str] = set()
    deadline = time.monotonic() + 60
    while len(done_before) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
        done_before = _done(database)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    done_before = _done(database)
    assert 8 <= len(done_before) < 30
    with sqlite3.connect(database) as conn:
        (run_id,) = conn.execute("select id from eval_runs").fetchone()

    fake.set(latency=0.0)
    resumed = llmdeck(
        "eval", "run", str(suite), "--config", str(config), "--resume", run_id, "--json",
        home=home, cwd=tmp_path,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert orjson.loads(resumed.stdout)["scores"] == {"contains": 1.0}
    asked = Counter(r.body["messages"][-1]["content"] for r in fake.requests)
    for item in done_before:
        assert asked[f"question number {item[1:]}"] == 1, item
    # every item answered; only the ones in flight at the kill (at most the concurrency) twice
    assert set(asked) == {r["input"] for r in rows}
    assert sum(asked.values()) <= 30 + 2
    assert len(_done(database)) == 30


def _done(database: Path) -> set[str]:
    if not database.exists():
        return set()
    try:
        with sqlite3.connect(database) as conn:
            return {row[0] for row in conn.execute("select item_id from eval_results")}
    except sqlite3.OperationalError:
        return set()


def test_suite_values_from_the_environment() -> None:
    from llmdeck.evals import parse_suite

    text = (
        "name: x\ndataset: d\ntarget: {http: '${BASE}/answer', headers: {authorization: "
        "'Bearer ${KEY}'}}\nevaluators: [{contains: {value: '${WORD:-hello}'}}]\n"
    )
    suite = parse_suite(text, "s.yaml", {"BASE": "http://h", "KEY": "k1"})
    assert suite.spec.target.http == "http://h/answer"
    assert suite.spec.target.headers == {"authorization": "Bearer k1"}
    assert suite.spec.evaluators == [{"contains": {"value": "hello"}}]
