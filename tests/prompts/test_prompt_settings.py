"""The `prompts` section of llmdeck.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.config import load_settings
from llmdeck.errors import ConfigError


def test_the_prompts_section_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "llmdeck.yaml"
    config.write_text("prompts:\n  protected_labels: [production, eu-prod]\n  cache_ttl: 1\n")
    settings = load_settings(config, {})
    assert settings.prompts.protected_labels == ("production", "eu-prod")
    assert settings.prompts.cache_ttl == 1 and settings.prompts.default_label == "production"
    config.write_text("prompts:\n  cache_tll: 1\n")
    with pytest.raises(ConfigError, match="llmdeck.yaml:2: prompts.cache_tll: unknown key"):
        load_settings(config, {})
