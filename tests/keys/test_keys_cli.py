"""`llmdeck keys`: create (printed once), list, update, revoke, show, audit, spend; --json shapes
and exit codes; a running server hears of a CLI revocation."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from llmdeck.cli import cli, main
from llmdeck.testing.server import ServerThread

from .conftest import chat


def run(home: Path, *args: str) -> Any:
    """Run `llmdeck keys ARGS --json` in-process; the parsed JSON output."""
    env = {"LLMDECK_HOME": str(home), "LLMDECK_CONFIG": "", "LLMDECK_DATABASE_URL": ""}
    result = CliRunner().invoke(cli, ["keys", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_list_update_revoke(tmp_path: Path) -> None:
    created = run(tmp_path, "create", "--name", "ci-bot", "--team", "eng", "--rpm", "60")
    run(tmp_path, "create", "--name", "batch", "--budget", "5", "--period", "day")

    assert created["key"].startswith("ldk-") and created["id"].startswith("key_")
    assert (created["name"], created["team"], created["rpm"]) == ("ci-bot", "eng", 60)
    listed = run(tmp_path, "list")["keys"]
    assert {k["name"] for k in listed} == {"ci-bot", "batch"}
    assert all("key" not in k for k in listed)

    rotated = run(tmp_path, "rotate", "ci-bot")
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    updated = run(tmp_path, "update", "ci-bot", "--rpm", "none", "--tpm", "1000")
    assert (updated["rpm"], updated["tpm"]) == (None, 1000)
    revoked = run(tmp_path, "revoke", created["id"])
    assert revoked["status"] == "revoked" and revoked["revoked_by"].startswith("cli:")

    assert [k["name"] for k in run(tmp_path, "list")["keys"]] == ["batch"]
    assert len(run(tmp_path, "list", "--all")["keys"]) == 2
    shown = run(tmp_path, "show", "batch")
    assert shown["usage"]["spent"] == 0.0 and shown["period"] == "day" and not shown["ui"]
    assert run(tmp_path, "update", "batch", "--ui")["ui"] is True  # may sign in to the web UI
    actions = [e["action"] for e in run(tmp_path, "audit", "--key", "ci-bot")["entries"]]
    assert actions == ["key.revoked", "key.updated", "key.rotated", "key.created"]
    assert run(tmp_path, "spend", "--by", "team")["rows"] == []


def test_human_output_prints_the_secret_alone_on_stdout(tmp_path: Path) -> None:
    env = {"LLMDECK_HOME": str(tmp_path)}
    result = CliRunner().invoke(cli, ["keys", "create", "--name", "x", "--rpm", "5"], env=env)

    assert result.exit_code == 0
    assert result.stdout.strip().startswith("ldk-") and len(result.stdout.strip()) == 47
    assert "created key 'x'" in result.stderr and "5 rpm" in result.stderr


def test_usage_errors_exit_2_and_name_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("LLMDECK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LLMDECK_HOME", str(tmp_path))

    def llmdeck(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["llmdeck", "keys", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        return int(exited.value.code or 0), capsys.readouterr().err

    bad_code, bad = llmdeck("create", "--name", "x", "--expires", "someday")
    missing_code, missing = llmdeck("revoke", "nobody")

    assert bad_code == 2
    assert "--expires: 'someday' is not a date" in bad
    assert missing_code == 1
    assert "no key with id or name 'nobody'" in missing


def test_a_running_server_refuses_a_key_revoked_by_the_cli(
    serve: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = serve(home=tmp_path)
    created = run(tmp_path, "create", "--name", "ci-bot")
    first = chat(server.url, created["key"])
    assert first.status_code == 200, (server.url, first.text)

    run(tmp_path, "revoke", "ci-bot")
    started = time.monotonic()
    while chat(server.url, created["key"]).status_code == 200:
        assert time.monotonic() - started < 1.0, "still accepted after a second"
        time.sleep(0.02)
