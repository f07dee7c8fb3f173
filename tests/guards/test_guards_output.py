"""Output checks and the guards configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.config import load_settings
from llmdeck.errors import ConfigError
from llmdeck.guards import build_detector, detector_factories


def test_json_validity_and_schema() -> None:
    schema = {
        "type": "object",
        "required": ["answer"],
        "properties": {"answer": {"type": "string"}},
    }
    detector = build_detector("json", {"schema": schema})
    assert detector.check('{"answer": "yes"}').score == 0.0
    assert detector.check('```json\n{"answer": "yes"}\n```').score == 0.0
    invalid = detector.check('{"answer": ')
    assert invalid.score == 1.0 and invalid.findings[0].type == "invalid_json"
    wrong = detector.check('{"answer": 3}')
    assert wrong.findings[0].type == "schema_violation" and "$.answer" in wrong.findings[0].labels
    with pytest.raises(ValueError, match="not a valid JSON schema"):
        build_detector("json", {"schema": {"type": 12}})


def test_banned_terms_are_whole_words() -> None:
    detector = build_detector("banned", {"terms": ["acme corp", "secret"]})
    text = "Ask ACME Corp about the secretary, not the secret."
    verdict = detector.check(text)
    assert [text[f.start : f.end] for f in verdict.findings] == ["ACME Corp", "secret"]


def test_length() -> None:
    detector = build_detector("length", {"max_chars": 5})
    assert detector.check("12345").score == 0 and detector.check("123456").score == 1
    with pytest.raises(ValueError, match="unknown option 'max'"):
        build_detector("length", {"max": 5})


def test_builtins_register_through_the_plugin_hook() -> None:
    assert {"injection", "indirect_injection", "pii", "secrets", "grounded", "json", "banned",
            "length"} <= set(detector_factories())  # fmt: skip


def test_config_errors_name_their_path(tmp_path: Path) -> None:
    from llmdeck.gateway.stages.guards import guard_problems

    file = tmp_path / "llmdeck.yaml"
    file.write_text(
        "models:\n"
        "  - name: chat\n"
        "    deployments: [{provider: local, model: extractive}]\n"
        "    guards:\n"
        "      input: {injection: {mode: redact}, nope: flag, pii: {mode: block, types: [x]}}\n"
        "      output: {pii: sometimes, grounded: {mode: flag, judge: missing}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(file, {})
    assert "models[0].guards.output.pii.mode" in str(caught.value)
    file.write_text(file.read_text().replace("pii: sometimes", "pii: redact"))
    problems = {p.path: p.message for p in guard_problems(load_settings(file, {}))}
    assert problems["models[0].guards.input.injection"].startswith("detector 'injection' cannot")
    assert problems["models[0].guards.input.nope"].startswith("unknown detector 'nope'")
    assert problems["models[0].guards.input.pii"].startswith("unknown type 'x'")
    assert problems["models[0].guards.output.grounded.judge"] == "unknown model alias 'missing'"
