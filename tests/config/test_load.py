from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.config import load_settings
from llmdeck.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llmdeck.yaml"
    path.write_text(text)
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ or {})
    return [str(p) for p in caught.value.problems]


def test_no_file_gives_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    assert [m.name for m in settings.models] == ["chat", "embed"]
    assert settings.models[0].deployments[0].provider == "local"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.source == ""


def test_file_found_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        "models:\n  - name: only\n    deployments: [{provider: local, model: extractive}]\n",
    )
    monkeypatch.chdir(tmp_path)
    assert [m.name for m in load_settings(None, {}).models] == ["only"]
    assert [m.name for m in load_settings(None, {}, discover=False).models] == ["chat", "embed"]


def test_variables_expand_from_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
models:
  - name: chat
    deployments:
      - provider: openai
        model: gpt-4o-mini
        api_base: ${BASE:-https://api.openai.com/v1}
        api_key: ${OPENAI_API_KEY}
        price: {input: 0.15, output: 0.60}
""",
    )
    settings = load_settings(path, {"OPENAI_API_KEY": "sk-secret"})
    deployment = settings.models[0].deployments[0]
    assert deployment.api_key is not None
    assert deployment.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(settings)
    assert deployment.api_base == "https://api.openai.com/v1"
    assert deployment.name == "chat-0"


def test_missing_variable_is_named_with_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n  - name: chat\n    deployments:\n"
        "      - provider: openai\n        model: m\n        api_key: ${NOPE_KEY}\n",
    )
    (message,) = problems(path)
    assert message == (
        f"{path}:6: models[0].deployments[0].api_key: environment variable NOPE_KEY is not set"
        " (use ${NOPE_KEY:-default})"
    )


def test_each_error_is_named_by_its_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
models:
  - name: chat
    deployments: [{provider: local, model: extractive}]
  - name: remote
    routing: fastest
    deployments:
      - provider: openai
        model: gpt-4o-mini
        api_base: not a url
        rpm: -3
        colour: blue
""",
    )
    found = problems(path)
    assert f"{path}:10: models[1].deployments[0].api_base: not a URL" in found
    assert any(
        p.startswith(f"{path}:6: models[1].routing: Input should be 'priority'") for p in found
    )
    assert f"{path}:11: models[1].deployments[0].rpm: Input should be greater than 0" in found
    assert f"{path}:12: models[1].deployments[0].colour: unknown key" in found


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  - name: chat\n   bad: [\n")
    (message,) = problems(path)
    assert message.startswith(f"{path}:3: invalid YAML")


def test_alias_rules(tmp_path: Path) -> None:
    twice = write(
        tmp_path,
        "models:\n  - {name: a, deployments: [{provider: local, model: extractive}]}\n"
        "  - {name: a, deployments: [{provider: local, model: extractive}]}\n",
    )
    assert any("model alias 'a' is defined twice" in p for p in problems(twice))
    empty = write(tmp_path, "models:\n  - {name: a}\n")
    assert any("models[0]: needs at least one deployment" in p for p in problems(empty))
    tiers = write(
        tmp_path, "models:\n  - {name: auto, routing: complexity, tiers: {simple: x, complex: y}}\n"
    )
    assert any("unknown model alias 'x'" in p for p in problems(tiers))


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        {
            "LLMDECK_HOME": str(tmp_path / "h"),
            "LLMDECK_DATABASE_URL": "postgresql://db/x",
            "LLMDECK_REDIS_URL": "redis://r:6379/0",
            "LLMDECK_ADMIN_KEY": "adm",
        },
        discover=False,
    )
    assert settings.home == tmp_path / "h"
    assert settings.effective_database_url == "postgresql://db/x"
    assert settings.redis_url == "redis://r:6379/0"
    assert settings.admin_key is not None and settings.admin_key.get_secret_value() == "adm"


def test_unreadable_file(tmp_path: Path) -> None:
    (message,) = problems(tmp_path / "missing.yaml")
    assert "cannot read" in message
