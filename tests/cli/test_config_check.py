from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def llmdeck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDECK_")}
    return subprocess.run(
        [sys.executable, "-m", "llmdeck", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def test_valid_file(tmp_path: Path) -> None:
    (tmp_path / "llmdeck.yaml").write_text(
        "models:\n  - name: chat\n    deployments: [{provider: local, model: extractive}]\n"
    )
    result = llmdeck("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: llmdeck.yaml: 1 model aliases, 1 deployments")


def test_errors_are_named_by_path_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "models:\n  - name: chat\n    deployments:\n"
        "      - {provider: openai, model: x, api_base: nope}\n"
        "      - {provider: martian, model: y}\n"
    )
    result = llmdeck("config", "check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "error: bad.yaml:4: models[0].deployments[0].api_base: not a URL" in result.stderr
    fixed = (tmp_path / "bad.yaml").read_text().replace("nope", "http://x")
    (tmp_path / "bad.yaml").write_text(fixed)
    result = llmdeck("config", "check", "bad.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    assert errors == [
        "bad.yaml: models[0].deployments[1].provider: unknown provider 'martian';"
        " known: anthropic, local, openai"
    ]


def test_no_file_reports_embedded_defaults(tmp_path: Path) -> None:
    result = llmdeck("config", "check", cwd=tmp_path)
    assert result.returncode == 0
    assert "embedded defaults" in result.stdout


def test_bad_config_for_serve_exits_2(tmp_path: Path) -> None:
    (tmp_path / "llmdeck.yaml").write_text("models: 3\n")
    result = llmdeck("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: llmdeck.yaml:1: models: Input should be a valid tuple")
