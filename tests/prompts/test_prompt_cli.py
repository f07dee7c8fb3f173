"""`llmdeck prompts ...` against a running server on SQLite and PostgreSQL: the folder sync,
labels, diff, rollback, history and pull, with their exit codes and --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from llmdeck.cli import cli
from llmdeck.testing.server import ServerThread

SUPPORT_YAML = """\
name: support-answer
messages:
  - {role: system, content: "You answer questions about {{ product }}."}
  - {role: user, content: "{{ question }}"}
model: gpt
params: {temperature: 0.2, max_tokens: 400}
variables: {product: string, question: string}
labels: [staging]
"""
NOTES_MD = """\
---
model: gpt
variables: {topic: string}
messages:
  - {role: system, content: Be brief.}
---
Tell me about {{ topic }}.
"""
BROKEN_YAML = """\
messages:
  - role: user
    content: "hello"
params:
  temprature: 0.2
"""


def run(server: ServerThread, *args: str) -> Result:
    return CliRunner().invoke(cli, ["prompts", *args, "--url", server.url], catch_exceptions=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "prompts"
    path.mkdir()
    (path / "support-answer.yaml").write_text(SUPPORT_YAML)
    (path / "notes.md").write_text(NOTES_MD)
    (path / "broken.yaml").write_text(BROKEN_YAML)
    return path


def test_life_cycle(server: ServerThread, folder: Path, tmp_path: Path) -> None:
    first = run(server, "push", str(folder))
    assert first.exit_code == 1  # one file was skipped
    assert first.stdout.splitlines() == [
        "notes: v1 (new)",
        "support-answer: v1 (new)  staging: - -> v1",
    ]
    assert f"error: {folder / 'broken.yaml'}:5: params.temprature: is not a known field" in (
        first.stderr
    )
    (folder / "broken.yaml").unlink()
    again = run(server, "push", str(folder))
    assert again.exit_code == 0
    assert again.stdout.splitlines() == ["notes: unchanged (v1)", "support-answer: unchanged (v1)"]

    edited = SUPPORT_YAML.replace("0.2", "0.4").replace("[staging]", "[staging, production]")
    (folder / "support-answer.yaml").write_text(edited)
    dry = run(server, "push", str(folder), "--dry-run", "--json")
    planned = {p["name"]: p for p in json.loads(dry.stdout)["prompts"]}
    assert planned["support-answer"]["version"] == 2 and planned["support-answer"]["created"]
    assert run(server, "list", "--json").stdout.count('"latest_version": 1') == 2  # unchanged
    pushed = run(server, "push", str(folder), "-m", "warmer")
    assert "support-answer: v2 (new)  staging: v1 -> v2  production: - -> v2" in pushed.stdout

    listed = json.loads(run(server, "list", "--json").stdout)["prompts"]
    assert [(p["name"], p["latest_version"]) for p in listed] == [
        ("notes", 1),
        ("support-answer", 2),
    ]
    shown = json.loads(run(server, "show", "support-answer@v1", "--json").stdout)
    assert shown["params"]["temperature"] == 0.2
    show_text = run(server, "show", "support-answer@production").stdout
    assert "support-answer v2" in show_text and "message: warmer" in show_text

    diff = run(server, "diff", "support-answer", "v1", "production")
    assert diff.exit_code == 0 and "params.temperature: 0.2 -> 0.4" in diff.stdout

    assert run(server, "label", "support-answer", "v1", "production").stdout.strip() == (
        "support-answer@production -> v1"
    )
    back = run(server, "rollback", "support-answer", "production", "--json")
    assert json.loads(back.stdout)["version"] == 2
    events = json.loads(run(server, "history", "support-answer", "production", "--json").stdout)
    assert [e["action"] for e in events["events"]] == ["move", "move", "rollback"]

    pulled = tmp_path / "pulled"
    result = run(server, "pull", str(pulled), "--json")
    assert {Path(f["file"]).name for f in json.loads(result.stdout)["files"]} == {
        "notes.yaml",
        "support-answer.yaml",
    }
    text = (pulled / "support-answer.yaml").read_text()
    assert "labels:\n- production\n- staging\n" in text
    # pulled files push back with nothing to do
    assert run(server, "push", str(pulled)).stdout.splitlines() == [
        "notes: unchanged (v1)",
        "support-answer: unchanged (v2)",
    ]
    only_production = run(server, "pull", str(tmp_path / "prod"), "--label", "production")
    assert only_production.stdout.splitlines()[0] == "skipped notes: no label 'production'"
    # a Markdown file already in the folder stays Markdown
    run(server, "pull", str(folder))
    assert (folder / "notes.md").read_text().endswith("---\nTell me about {{ topic }}.\n")
    assert run(server, "push", str(folder)).stdout.count("unchanged") == 2


def test_failures_and_exit_codes(server: ServerThread, tmp_path: Path) -> None:
    missing = run(server, "show", "nope")
    assert missing.exit_code == 1 and "error: no prompt named 'nope'" in missing.stderr
    empty = run(server, "push", str(tmp_path))
    assert empty.exit_code == 1 and "no prompt files" in empty.stderr
    bad_version = run(server, "label", "x", "latest", "production")
    assert bad_version.exit_code == 2 and "is not a version" in bad_version.stderr
    down = CliRunner().invoke(cli, ["prompts", "list", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 2 and "cannot reach llmdeck at http://127.0.0.1:9" in down.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the command, not the engine
def test_the_installed_command_with_the_admin_key_from_the_environment(
    start_server: Callable[..., ServerThread], folder: Path
) -> None:
    server = start_server(admin_key="sk-admin")
    (folder / "broken.yaml").unlink()
    command = [sys.executable, "-m", "llmdeck", "prompts", "push", str(folder), "--url", server.url]

    def push(key: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LLMDECK_ADMIN_KEY": key}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    refused = push("wrong")
    assert refused.returncode == 2 and "invalid API key" in refused.stderr
    done = push("sk-admin")
    assert done.returncode == 0, done.stderr
    assert "support-answer: v1 (new)" in done.stdout


def test_canary_render_and_json_errors(server: ServerThread, folder: Path) -> None:
    report = json.loads(run(server, "push", str(folder), "--json").stdout)
    (error,) = report["errors"]
    assert (Path(error["path"]).name, error["line"]) == ("broken.yaml", 5)
    assert error["message"] == "params.temprature: is not a known field"
    run(server, "label", "support-answer", "1", "production")
    (folder / "support-answer.yaml").write_text(SUPPORT_YAML.replace("0.2", "0.3"))
    run(server, "push", str(folder))

    split = run(server, "canary", "support-answer", "production", "v2", "--weight", "10")
    assert split.stdout.strip() == "support-answer@production -> v1 90% + v2 10%"
    assert run(server, "rollback", "support-answer", "production").exit_code == 0
    auto = run(server, "canary", "support-answer", "production", "2", "--steps", "5,50", "--json")
    state = json.loads(auto.stdout)
    assert state["canary"]["plan"]["steps"] == [0.05, 0.5, 1.0]
    assert [t["version"] for t in state["targets"]] == [1, 2]

    rendered = run(
        server, "render", "support-answer@v2", "-v", "product=llmdeck", "-v", "question=Why?"
    )
    assert rendered.stdout == (
        "support-answer v2\n\n[system]\nYou answer questions about llmdeck.\n\n[user]\nWhy?\n"
    )
    wrong = run(server, "render", "support-answer@v2", "-v", "product=3", "-v", "question=q")
    assert wrong.exit_code == 1
    assert "prompt variable 'product' must be a string, got an integer" in wrong.stderr
